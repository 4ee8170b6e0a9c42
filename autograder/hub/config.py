"""The JupyterHub configuration of the courses (called from the generated jupyterhub_config.py).

- Accounts: one instructor, N learners, one shared password (SharedPasswordAuthenticator).
  As root each is a real Unix user served by LocalProcessSpawner; otherwise every server
  runs as the caller (SimpleLocalProcessSpawner) and nbgrader takes each learner's
  identity from the hub user.
- Courses: nbgrader's groups ``nbgrader-<course>`` (learners and instructor) and
  ``formgrade-<course>`` (instructor), so the Assignment List shows a learner their courses
  only; each course's formgrader runs as a hub service the formgrade group may open.
- Everything listens on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

from .settings import HubSettings

ADMIN_SERVICE = "poc2prod-admin"
SERVER_SCOPES = ["users:activity!user", "access:servers!server",
                 "read:users:name!user", "read:users:groups!user"]


def formgrader_service(settings: HubSettings, course: str) -> str:
    return f"formgrader-{course}"


def configure(c, settings: HubSettings) -> None:
    """Fill the hub's config object ``c`` from ``settings``."""
    hub_dir = settings.hub_dir
    users = [settings.instructor, *settings.learners]
    repo_bin = Path(__file__).resolve().parents[2] / "node_modules" / ".bin"

    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.command = [str(repo_bin / "configurable-http-proxy")]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")

    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = settings.password
    c.Authenticator.allowed_users = set(users)
    # not a hub admin: SharedPasswordAuthenticator would want a second, 32-character password
    # for admins; the instructor gets the hub's admin page and the learners' servers instead

    env = {"PATH": f"{settings.venv_bin}:/usr/local/bin:/usr/bin:/bin",
           "JUPYTER_CONFIG_PATH": str(hub_dir / "learner-config"),
           "MPLBACKEND": "agg", "OMP_NUM_THREADS": "1",
           "MLFLOW_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "ORT_DISABLE_TELEMETRY": "1"}
    c.Spawner.cmd = [f"{settings.venv_bin}/jupyterhub-singleuser"]
    c.Spawner.args = ["--LabApp.news_url=None",
                      "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    c.Spawner.default_url = "/lab"
    c.Spawner.ip = "127.0.0.1"
    c.Spawner.environment = env
    c.Spawner.server_token_scopes = SERVER_SCOPES
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    if settings.unix_users:
        c.JupyterHub.spawner_class = "localprocess"
        c.Spawner.notebook_dir = "~"
    else:
        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = str(settings.user_home("{username}"))

    groups, roles, services = {}, [], []
    for course in settings.courses:
        service = formgrader_service(settings, course)
        groups[f"nbgrader-{course}"] = {"users": users}
        groups[f"formgrade-{course}"] = {"users": [settings.instructor]}
        roles.append({"name": f"formgrade-{course}", "groups": [f"formgrade-{course}"],
                      "scopes": [f"access:services!service={service}"]})
        port = settings.formgrader_ports[course]
        spec = {"name": service, "url": f"http://127.0.0.1:{port}",
                "command": [f"{settings.venv_bin}/jupyterhub-singleuser", "--ip=127.0.0.1",
                            f"--port={port}", *c.Spawner.args],
                "cwd": str(settings.course_root(course)), "oauth_no_confirm": True,
                "environment": dict(env, JUPYTERHUB_DEFAULT_URL="/formgrader",
                                    JUPYTER_CONFIG_PATH=str(hub_dir / "grader-config" / course))}
        if settings.unix_users:
            spec["user"] = settings.instructor  # owns the course folders
        services.append(spec)
    roles.append({"name": "instructor", "users": [settings.instructor],
                  "scopes": ["self", "admin-ui", "list:users", "read:users", "admin:servers",
                             "read:groups"]})
    roles.append({"name": "formgraders", "services": [s["name"] for s in services],
                  "scopes": ["read:users:groups", "list:users", "list:groups",
                             "read:users:name"]})
    if settings.api_token:
        services.append({"name": ADMIN_SERVICE, "api_token": settings.api_token})
        roles.append({"name": "admin", "services": [ADMIN_SERVICE]})
    c.JupyterHub.load_groups = groups
    c.JupyterHub.load_roles = roles
    c.JupyterHub.services = services
