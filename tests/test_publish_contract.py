"""What every publishing target promises, tested once for each: the Drive target against the
local Drive fake, the web folder in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google_fixtures import Sleeps

from cluster_sync.publish import FactsheetFile, Job, Target
from cluster_sync.publish.drive import DriveTarget
from cluster_sync.publish.drive_settings import DrivePublishConfig
from cluster_sync.publish.webfolder import FolderTarget
from cluster_sync.testing.fake_drive import FakeDrive

FOLDER = "1ContractFolder000000000000"


class TargetContract:
    """Subclasses give `target` and `stored(remote_id)`: the bytes the target now holds."""

    @pytest.fixture
    def target(self, tmp_path: Path) -> Target:
        raise NotImplementedError

    def stored(self, target: Target, remote_id: str) -> bytes:
        raise NotImplementedError

    def count(self, target: Target) -> int:
        """How many files the target holds."""
        raise NotImplementedError

    def version(self, tmp_path: Path, number: int, data: bytes) -> FactsheetFile:
        path = tmp_path / f"CL-2025-001-a-title-v{number}.docx"
        path.write_bytes(data)
        return FactsheetFile("CL-2025-001", number, "docx", path)

    def test_publishing_gives_a_plain_link_to_the_content(
        self, target: Target, tmp_path: Path
    ) -> None:
        file = self.version(tmp_path, 1, b"first")
        target.prepare([Job(file, None, False)])
        remote = target.publish(Job(file, None, False))

        assert remote.url.startswith(("https://", "http://")) and " " not in remote.url
        assert self.stored(target, remote.remote_id) == b"first"

    def test_a_new_version_keeps_the_link_and_replaces_the_content(
        self, target: Target, tmp_path: Path
    ) -> None:
        v1 = self.version(tmp_path, 1, b"first")
        target.prepare([Job(v1, None, False)])
        first = target.publish(Job(v1, None, False))
        v2 = self.version(tmp_path, 2, b"second")
        target.prepare([Job(v2, first, False)])

        second = target.publish(Job(v2, first, False))

        assert (second.remote_id, second.url) == (first.remote_id, first.url)
        assert self.stored(target, second.remote_id) == b"second"
        assert self.count(target) == 1

    def test_publishing_a_version_again_after_a_crash_adds_nothing(
        self, target: Target, tmp_path: Path
    ) -> None:
        v1 = self.version(tmp_path, 1, b"first")
        target.prepare([Job(v1, None, False)])
        first = target.publish(Job(v1, None, False))
        # the run that did it was killed before recording it: the state knows nothing
        target.prepare([Job(v1, None, True)])

        again = target.publish(Job(v1, None, True))

        assert again.reused and again.url == first.url
        assert self.count(target) == 1

    def test_the_link_known_before_upload_is_the_link_after(
        self, target: Target, tmp_path: Path
    ) -> None:
        v1 = self.version(tmp_path, 1, b"first")
        target.prepare([Job(v1, None, False)])
        first = target.publish(Job(v1, None, False))
        v2 = self.version(tmp_path, 2, b"second")

        promised = target.link_before_upload(v2, first)

        assert promised == first.url

    def test_a_withdrawn_file_is_gone_with_its_earlier_versions(
        self, target: Target, tmp_path: Path
    ) -> None:
        v1 = self.version(tmp_path, 1, b"first")
        target.prepare([Job(v1, None, False)])
        first = target.publish(Job(v1, None, False))
        v2 = self.version(tmp_path, 2, b"second")
        target.prepare([Job(v2, first, False)])
        second = target.publish(Job(v2, first, False))

        target.withdraw(second)

        assert self.count(target) == 0
        assert not self.anywhere(target, b"first") and not self.anywhere(target, b"second")
        target.withdraw(second)  # already gone: fine, nothing raised

    def anywhere(self, target: Target, data: bytes) -> bool:
        """Whether any content the target keeps (earlier versions too) is `data`."""
        raise NotImplementedError


class TestFolderTarget(TargetContract):
    @pytest.fixture
    def target(self, tmp_path: Path) -> Target:
        (tmp_path / "www").mkdir()
        return FolderTarget(tmp_path / "www", "https://www.example.org/f/")

    def stored(self, target: Target, remote_id: str) -> bytes:
        assert isinstance(target, FolderTarget)
        return (target.folder / remote_id).read_bytes()

    def count(self, target: Target) -> int:
        assert isinstance(target, FolderTarget)
        return len(list(target.folder.iterdir()))

    def anywhere(self, target: Target, data: bytes) -> bool:
        assert isinstance(target, FolderTarget)
        return any(p.read_bytes() == data for p in target.folder.rglob("*") if p.is_file())


class TestDriveTarget(TargetContract):
    @pytest.fixture
    def drive(self) -> Iterator[FakeDrive]:
        with FakeDrive() as fake:
            fake.add_folder(FOLDER, shared_drive=True)
            yield fake

    @pytest.fixture
    def target(self, tmp_path: Path, drive: FakeDrive) -> Target:
        self.fake = drive
        settings = DrivePublishConfig(
            folder=FOLDER, credentials="none", api_base_url=drive.base_url
        )
        return DriveTarget(settings, None, sleep=Sleeps())

    def stored(self, target: Target, remote_id: str) -> bytes:
        return self.fake.files[remote_id].content

    def count(self, target: Target) -> int:
        return len(self.fake.in_folder(FOLDER))

    def anywhere(self, target: Target, data: bytes) -> bool:
        return any(data in (f.content, *f.revisions) for f in self.fake.files.values())
