"""Warning when the store sits in a sync client's folder or on a network share."""

from pathlib import Path

import pytest

from pipeline.store.location import sync_or_network_kind

MOUNTS = """\
/dev/vda / ext4 rw 0 0
server:/export /mnt/team nfs4 rw 0 0
//nas/share /mnt/nas cifs rw 0 0
"""


@pytest.mark.parametrize("path, expected", [
    ("/home/ana/Dropbox/study/cityqda.sqlite", "a Dropbox folder"),
    ("/home/ana/OneDrive - University/study/cityqda.sqlite", "a OneDrive folder"),
    ("/Users/ana/Library/Mobile Documents/com~apple~CloudDocs/s/cityqda.sqlite",
     "an iCloud Drive folder"),
    ("/Users/ana/Google Drive/My Drive/s/cityqda.sqlite", "a Google Drive folder"),
    ("/mnt/team/study/cityqda.sqlite", "a network share (nfs4)"),
    ("/mnt/nas/cityqda.sqlite", "a network share (cifs)"),
    ("/home/ana/studies/lisbon/cityqda.sqlite", None),
    ("/home/ana/dropboxes-old/cityqda.sqlite", None),
])
def test_location_detects_sync_and_network_folders(path, expected):
    assert sync_or_network_kind(Path(path), MOUNTS) == expected


def test_location_warning_is_printed_when_opening(tmp_path, monkeypatch, capsys):
    from pipeline.store import open_store

    monkeypatch.delenv("CITYQDA_NO_LOCATION_WARNING", raising=False)
    folder = tmp_path / "Dropbox" / "study"
    folder.mkdir(parents=True)
    open_store(folder / "cityqda.sqlite").close()
    err = capsys.readouterr().err
    assert "CQ050" in err and "Dropbox" in err
