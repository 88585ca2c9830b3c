"""Is the store in a folder that a sync client or a network share manages?

SQLite's locking does not survive Dropbox, OneDrive or SMB copying the file while it is
written; we warn, we do not refuse.
"""

from __future__ import annotations

import os
from pathlib import Path

SYNC_FOLDER_MARKERS = {
    "dropbox": "a Dropbox folder",
    "onedrive": "a OneDrive folder",
    "google drive": "a Google Drive folder",
    "googledrive": "a Google Drive folder",
    "my drive": "a Google Drive folder",
    "icloud drive": "an iCloud Drive folder",
    "mobile documents": "an iCloud Drive folder",
    "box sync": "a Box folder",
    "box": "a Box folder",
    "pcloud drive": "a pCloud folder",
    "nextcloud": "a Nextcloud folder",
    "owncloud": "an ownCloud folder",
    "seafile": "a Seafile folder",
    "sync.com": "a Sync.com folder",
}

NETWORK_FS_TYPES = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "afpfs", "9p",
                    "fuse.rclone", "davfs", "fuse.gvfsd-fuse"}


def _mount_for(path: Path, mounts_text: str) -> str | None:
    best, best_type = "", None
    target = str(path)
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        if (target == mount_point or target.startswith(mount_point.rstrip("/") + "/")) \
                and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def sync_or_network_kind(path: Path, mounts_text: str | None = None) -> str | None:
    """A description such as 'a Dropbox folder' or 'a network share (cifs)', else None."""
    resolved = Path(os.path.abspath(path))
    text = str(resolved)
    if text.startswith("\\\\") or text.startswith("//"):
        return "a network share"
    for part in resolved.parts[:-1]:
        lowered = part.lower()
        for marker, kind in SYNC_FOLDER_MARKERS.items():
            if lowered == marker or lowered.startswith(marker + " ") or \
                    lowered.startswith(marker + "-") or lowered.startswith(marker + "("):
                return kind
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    fs_type = _mount_for(resolved, mounts_text)
    if fs_type in NETWORK_FS_TYPES:
        return f"a network share ({fs_type})"
    return None
