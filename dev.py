#!/usr/bin/env python3
"""The two commands of the README, for a fresh machine with only Python 3.11.

    python3 dev.py serve   set up .venv and var/, create the demo user, start the server
    python3 dev.py test    set up .venv and run the whole test suite

Everything lives under the repository: the virtualenv in .venv/, the store,
users and sessions in var/ (git-ignored), the config in config/.
"""

import os
import secrets
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
PYTHON = os.path.join(VENV, "bin", "python")
CONFIG = os.path.join(ROOT, "config", "radicale-wcap.conf")
DEMO_USER = "demo"
DEMO_PASSWORD_FILE = os.path.join(ROOT, "var", "demo-password")


def run(*args, **kwargs):
    return subprocess.run(list(args), check=True, **kwargs)


def setup():
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed (this is %s)" % sys.version.split()[0])
    if not os.path.exists(PYTHON):
        run(sys.executable, "-m", "venv", VENV)
    stamp = os.path.join(VENV, ".installed")
    setup_cfg = os.path.join(ROOT, "setup.cfg")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(setup_cfg):
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ROOT + "[test]")
        with open(stamp, "w") as f:
            f.write("ok\n")


def cli(*args, **kwargs):
    return subprocess.run([PYTHON, "-m", "radicale_wcap.cli", "--config", CONFIG, *args],
                          **kwargs)


def serve():
    setup()
    os.makedirs(os.path.join(ROOT, "var"), exist_ok=True)
    if not os.path.exists(DEMO_PASSWORD_FILE):
        password = secrets.token_urlsafe(12)
        result = cli("user", "add", DEMO_USER, "--email", "demo@example.com",
                     "--name", "Demo User", "--tz", "Europe/Berlin", "--password-stdin",
                     input=password + "\n", text=True, capture_output=True)
        if result.returncode != 0 and "exists" not in result.stderr:
            sys.exit(result.stderr.strip())
        with open(DEMO_PASSWORD_FILE, "w") as f:
            f.write(password + "\n")
    with open(DEMO_PASSWORD_FILE) as f:
        password = f.read().strip()
    print("Demo user: %s  password: %s" % (DEMO_USER, password))
    sys.stdout.flush()
    os.execv(PYTHON, [PYTHON, "-m", "radicale_wcap.cli", "--config", CONFIG, "serve"])


def test(extra):
    setup()
    os.chdir(ROOT)
    os.execv(PYTHON, [PYTHON, "-m", "pytest", "-q", *extra])


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        sys.exit(__doc__)
    if sys.argv[1] == "serve":
        serve()
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    main()
