"""The real-service stack the tier runs against, all on 127.0.0.1 under target/openstack-run/:
real Keystone and real Glance from PyPI (SQLite, fernet keys, Glance's file store), each
served by gunicorn on a port it picks itself; the simulator behind that Keystone for Nova,
Cinder and Neutron; and Tidings in front of it all. Every process is a child of this one,
asked to die with it (PR_SET_PDEATHSIG), and stopped by its pid at the end.

`Stack.start()` brings it up in this order: Keystone (db_sync, fernet_setup, gunicorn,
bootstrap), the service users and the test's projects, users and roles (keystoneauth), the
simulator (`tidings sim --keystone`), Glance (db_sync, gunicorn), the catalog, Tidings.
"""

import ctypes
import grp
import json
import os
import pathlib
import pwd
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = pathlib.Path(sys.prefix)
BIN = os.environ.get("TIDINGS_BIN", str(ROOT / "target" / "debug" / "tidings"))
RUN = ROOT / "target" / "openstack-run"
HERE = pathlib.Path(__file__).resolve().parent

ADMIN_PASSWORD = "admin-secret"
ADMIN_TOKEN = "test-token"
SERVICE_PROJECT = "service"
# Service users: (name, password, roles on the service project). Glance's keystonemiddleware
# validates tokens with `service`; the simulator also lists the projects at start (`admin`).
SERVICE_USERS = [
    ("glance", "glance-secret", ["service"]),
    ("sim", "sim-secret", ["service", "admin"]),
]
# The test's projects and people. Everyone's password is `<name>-pw`; `expired` must change
# theirs before first use (security_compliance.change_password_upon_first_use), `frozen`
# is disabled, `loner` has no role anywhere. `dave`'s `manager` implies `member` and `reader`.
PROJECTS = ["demo", "ops"]
USERS = {
    "alice": [("demo", "member")],
    "bob": [("ops", "member")],
    "carol": [("demo", "reader")],
    "dave": [("ops", "manager")],
    "loner": [],
    "frozen": [("demo", "member")],
    "expired": [("demo", "member")],
}

PR_SET_PDEATHSIG = 1


def password(name):
    return f"{name}-pw"


def _die_with_parent():
    """Runs in each child before exec: it gets SIGTERM when this process dies, however."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Process:
    """A child process, its log file, and how to stop it by its pid."""

    def __init__(self, name, argv, env=None, log_dir=RUN / "logs"):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, preexec_fn=_die_with_parent, cwd=RUN,
        )

    @property
    def pid(self):
        return self.proc.pid

    def wait_for_line(self, pattern, timeout=180):
        """The first match of `pattern` in the log; fails when the process exits first."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            found = regex.search(self.log_path.read_text(errors="replace"))
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} never logged {pattern!r}:\n{self.tail()}")

    def tail(self, lines=40):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def run(argv, **kwargs):
    """A setup command that must succeed; its output is shown when it does not."""
    done = subprocess.run(argv, capture_output=True, text=True, cwd=RUN,
                          stdin=subprocess.DEVNULL, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class Stack:
    """The running services: their URLs, the admin's keystoneauth session, ids by name."""

    def __init__(self):
        self.processes = []
        self.keystone_url = None
        self.glance_url = None
        self.sim_url = None
        self.tidings_url = None
        self.project_ids = {}
        self.user_ids = {}
        self.role_ids = {}
        self._admin = None

    # Bringing it up -------------------------------------------------------------------

    def start(self):
        shutil.rmtree(RUN, ignore_errors=True)
        (RUN / "logs").mkdir(parents=True)
        try:
            self._start_keystone()
            self._create_identities()
            self._start_sim()
            self._start_glance()
            self._register_catalog()
            self._start_tidings()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def spawn(self, name, argv, env=None):
        process = Process(name, argv, env)
        self.processes.append(process)
        return process

    def _gunicorn(self, name, factory, env):
        process = self.spawn(name, [
            str(VENV / "bin" / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "1",
            "--threads", "4", "--worker-class", "gthread", "--timeout", "120",
            "--chdir", str(HERE), f"services:{factory}()",
        ], env)
        found = process.wait_for_line(r"Listening at: (http://127\.0\.0\.1:\d+)")
        return process, found.group(1)

    def _start_keystone(self):
        conf = RUN / "keystone"
        conf.mkdir()
        (conf / "keystone.conf").write_text(textwrap.dedent(f"""\
            [database]
            connection = sqlite:///{RUN}/keystone.db
            [token]
            provider = fernet
            expiration = 3600
            [fernet_tokens]
            key_repository = {RUN}/fernet-keys
            [fernet_receipts]
            key_repository = {RUN}/fernet-keys
            [cache]
            enabled = false
            [identity]
            # bcrypt's fewest rounds: every login and user creation hashes a password.
            password_hash_rounds = 4
            """))
        # Only the running service has it, so that the bootstrapped admin's password does not
        # start expired; users created through the API do, unless they are exempted.
        (conf / "compliance.conf").write_text(textwrap.dedent("""\
            [security_compliance]
            change_password_upon_first_use = true
            """))
        manage = [str(VENV / "bin" / "keystone-manage"), "--config-file",
                  str(conf / "keystone.conf")]
        run(manage + ["db_sync"])
        user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        run(manage + ["fernet_setup", "--keystone-user", user, "--keystone-group", group])
        files = f"{conf / 'keystone.conf'};{conf / 'compliance.conf'}"
        process, base = self._gunicorn("keystone", "keystone",
                                       {"OS_KEYSTONE_CONFIG_FILES": files})
        self.keystone_url = f"{base}/v3"
        run(manage + [
            "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-admin-url", self.keystone_url,
            "--bootstrap-internal-url", self.keystone_url,
            "--bootstrap-public-url", self.keystone_url,
            "--bootstrap-region-id", "RegionOne",
        ])
        wait_http(self.keystone_url)

    def session(self, username="admin", pw=ADMIN_PASSWORD, project="admin"):
        """A keystoneauth session of `username` scoped to `project`."""
        auth = v3.Password(
            auth_url=self.keystone_url, username=username, password=pw,
            project_name=project, user_domain_id="default", project_domain_id="default",
        )
        return ks_session.Session(auth=auth)

    def admin(self):
        """The cloud admin's session (one token, renewed by keystoneauth)."""
        if self._admin is None:
            self._admin = self.session()
        return self._admin

    def identity(self, method, path, **kwargs):
        """A call to Keystone as the cloud admin; the decoded body (or None)."""
        reply = self.admin().request(
            f"{self.keystone_url}{path}", method, raise_exc=False, **kwargs)
        if reply.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text}")
        return reply.json() if reply.content else None

    def _create_identities(self):
        for role in self.identity("GET", "/roles")["roles"]:
            self.role_ids[role["name"]] = role["id"]
        for project in self.identity("GET", "/projects")["projects"]:
            self.project_ids[project["name"]] = project["id"]
        for name in [SERVICE_PROJECT] + PROJECTS:
            body = {"project": {"name": name, "domain_id": "default",
                                "description": f"{name} (real-service tier)"}}
            self.project_ids[name] = self.identity("POST", "/projects", json=body)["project"]["id"]
        people = [(n, pw, [(SERVICE_PROJECT, r) for r in roles]) for n, pw, roles in SERVICE_USERS]
        people += [(n, password(n), grants) for n, grants in USERS.items()]
        for name, pw, grants in people:
            user = {"name": name, "password": pw, "domain_id": "default",
                    "enabled": name != "frozen"}
            if name != "expired":
                user["options"] = {"ignore_change_password_upon_first_use": True}
            created = self.identity("POST", "/users", json={"user": user})["user"]
            self.user_ids[name] = created["id"]
            if name != "expired":
                # Keystone reads the exemption only once it is stored, so the password the
                # user was created with has expired all the same: set it again.
                self.identity("PATCH", f"/users/{created['id']}", json={"user": {"password": pw}})
            for project, role in grants:
                self.identity("PUT", f"/projects/{self.project_ids[project]}/users/"
                                     f"{created['id']}/roles/{self.role_ids[role]}")

    def _start_sim(self):
        process = self.spawn("sim", [
            BIN, "sim", "--listen", "127.0.0.1:0", "--sim-activity", "0",
            "--keystone", self.keystone_url, "--keystone-username", "sim",
            "--keystone-password", "sim-secret", "--keystone-project", SERVICE_PROJECT,
        ], {"RUST_LOG": "info"})
        self.sim_url = process.wait_for_line(r"simulator listening on (http://\S+)").group(1)
        process.wait_for_line(r"OpenStack simulator listening")

    def _start_glance(self):
        conf = RUN / "glance"
        conf.mkdir()
        for store in ("images", "staging", "tasks"):
            (RUN / "glance-store" / store).mkdir(parents=True)
        shutil.copy(VENV / "etc" / "glance" / "glance-api-paste.ini", conf)
        (conf / "glance-api.conf").write_text(textwrap.dedent(f"""\
            [DEFAULT]
            enabled_backends = fs:file
            [glance_store]
            default_backend = fs
            [fs]
            filesystem_store_datadir = {RUN}/glance-store/images/
            [os_glance_staging_store]
            filesystem_store_datadir = {RUN}/glance-store/staging/
            [os_glance_tasks_store]
            filesystem_store_datadir = {RUN}/glance-store/tasks/
            [database]
            connection = sqlite:///{RUN}/glance.db
            [paste_deploy]
            flavor = keystone
            config_file = {conf}/glance-api-paste.ini
            [oslo_concurrency]
            lock_path = {RUN}/glance-locks
            [keystone_authtoken]
            www_authenticate_uri = {self.keystone_url}
            auth_url = {self.keystone_url}
            auth_type = password
            user_domain_id = default
            project_domain_id = default
            project_name = {SERVICE_PROJECT}
            username = glance
            password = glance-secret
            """))
        run([str(VENV / "bin" / "glance-manage"), "--config-dir", str(conf), "db_sync"])
        _, self.glance_url = self._gunicorn("glance", "glance", {"OS_GLANCE_CONFIG_DIR": str(conf)})
        wait_http(f"{self.glance_url}/versions")

    def _register_catalog(self):
        services = [
            ("image", "glance", self.glance_url),
            ("compute", "nova", f"{self.sim_url}/compute/v2.1"),
            ("volumev3", "cinderv3", f"{self.sim_url}/volume/v3/%(project_id)s"),
            ("network", "neutron", f"{self.sim_url}/network"),
        ]
        for kind, name, url in services:
            body = {"service": {"type": kind, "name": name, "enabled": True}}
            service = self.identity("POST", "/services", json=body)["service"]
            for interface in ("public", "internal", "admin"):
                endpoint = {"service_id": service["id"], "interface": interface, "url": url,
                            "region_id": "RegionOne", "enabled": True}
                self.identity("POST", "/endpoints", json={"endpoint": endpoint})

    def _start_tidings(self):
        process = self.spawn("tidings", [
            BIN, "serve", "--listen", "127.0.0.1:0", "--upstream", self.keystone_url,
            "--os-username", "admin", "--os-password", ADMIN_PASSWORD, "--os-project", "admin",
            "--admin-token", ADMIN_TOKEN,
        ], {"RUST_LOG": "info"})
        self.tidings_url = process.wait_for_line(r"listening on (http://\S+)").group(1)
        deadline = time.monotonic() + 60
        while requests.get(f"{self.tidings_url}/readyz", timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"tidings never became ready:\n{process.tail()}")
            time.sleep(0.2)

    # Using it ---------------------------------------------------------------------------

    def openstack(self, *args, username="admin", pw=ADMIN_PASSWORD, project="admin"):
        """The real `openstack` command as `username`; its JSON output when `-f json`."""
        env = {
            "OS_AUTH_URL": self.keystone_url, "OS_USERNAME": username, "OS_PASSWORD": pw,
            "OS_PROJECT_NAME": project, "OS_USER_DOMAIN_ID": "default",
            "OS_PROJECT_DOMAIN_ID": "default", "OS_IDENTITY_API_VERSION": "3",
            "OS_INTERFACE": "public", "OS_REGION_NAME": "RegionOne",
        }
        out = run([str(VENV / "bin" / "openstack"), *args], env={**os.environ, **env})
        return json.loads(out) if "json" in args and out.strip() else out

    def log_of(self, name):
        return next(p for p in self.processes if p.name == name).tail(200)


def _stop_on(signum, _frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    # `python stack.py`: bring the stack up by hand and keep it until Ctrl-C or SIGTERM.
    signal.signal(signal.SIGTERM, _stop_on)
    signal.signal(signal.SIGINT, _stop_on)
    stack = Stack().start()
    print(json.dumps({"keystone": stack.keystone_url, "glance": stack.glance_url,
                      "sim": stack.sim_url, "tidings": stack.tidings_url}, indent=1))
    try:
        signal.pause()
    finally:
        stack.stop()
