"""What one JupyterHub deployment of the courses needs to know, saved as JSON beside it."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

INSTRUCTOR = "instructor"


@dataclass
class HubSettings:
    """Ports, accounts and folders of one hub; ``courses`` are course folder names."""

    home: str
    courses: list[str]
    learners: list[str]
    password: str
    instructor: str = INSTRUCTOR
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    formgrader_ports: dict[str, int] = field(default_factory=dict)
    api_token: str | None = None
    unix_users: bool = field(default_factory=lambda: os.geteuid() == 0)
    venv_bin: str = field(default_factory=lambda: str(Path(sys.executable).parent))

    @property
    def hub_dir(self) -> Path:
        return Path(self.home) / "hub"

    @property
    def exchange(self) -> Path:
        return Path(self.home) / "exchange"

    def course_root(self, course: str) -> Path:
        return Path(self.home) / "courses" / course

    def user_home(self, user: str) -> Path:
        return Path(self.home) / "users" / user

    def save(self) -> Path:
        self.hub_dir.mkdir(parents=True, exist_ok=True)
        path = self.hub_dir / "settings.json"
        path.write_text(json.dumps(asdict(self), indent=1))
        path.chmod(0o600)
        return path

    @classmethod
    def load(cls, path: str | Path) -> HubSettings:
        return cls(**json.loads(Path(path).read_text()))
