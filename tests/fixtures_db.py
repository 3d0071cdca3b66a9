"""Databases of a test's own: one factory for a fresh ci-db container, and the end-of-run sweep."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import pytest
from fixtures_images import DB_IMAGE

if TYPE_CHECKING:
    from support.docker import Container

FreshDb = Callable[..., "Container"]


@contextmanager
def fresh_database(
    env: Mapping[str, str],
    *,
    volume: bool = False,
    wait: bool = True,
    volumes: Sequence[str] = (),
    **kwargs: object,
) -> Iterator[Container]:
    """A ci-db container (with a named volume of its own if VOLUME), healthy unless not WAIT;
    removed with its volumes afterwards."""
    from support.docker import create_volume, remove_volume, run_container

    name = create_volume() if volume else None
    mounts = [*volumes, *([f"{name}:/var/lib/postgresql/data"] if name else [])]
    try:
        container = run_container(DB_IMAGE, env=env, volumes=mounts, **kwargs)  # type: ignore[arg-type]
        try:
            if wait:
                container.wait_healthy()
            yield container
        finally:
            container.remove()
    finally:
        if name:
            remove_volume(name)


@pytest.fixture
def fresh_db(images: dict[str, str]) -> Iterator[FreshDb]:
    """fresh_db(env, volume=False, wait=True, **run_container kwargs): a new database for this
    test, removed (with its volume) at the end of it."""
    with ExitStack() as stack:

        def _start(env: Mapping[str, str], **kwargs: object) -> Container:
            return stack.enter_context(fresh_database(env, **kwargs))  # type: ignore[arg-type]

        yield _start


@pytest.fixture(scope="module")
def module_fresh_db(images: dict[str, str]) -> Iterator[FreshDb]:
    """fresh_db for module-scoped fixtures: containers live until the module's last test."""
    with ExitStack() as stack:

        def _start(env: Mapping[str, str], **kwargs: object) -> Container:
            return stack.enter_context(fresh_database(env, **kwargs))  # type: ignore[arg-type]

        yield _start


@pytest.fixture
def volume(images: dict[str, str]) -> Iterator[str]:
    """An empty named volume for this test, removed at its end."""
    from support.docker import create_volume, remove_volume

    name = create_volume()
    yield name
    remove_volume(name)


@pytest.fixture(scope="module")
def module_volume(images: dict[str, str]) -> Iterator[str]:
    """An empty named volume that lives until the module's last test (e.g. a repository)."""
    from support.docker import create_volume, remove_volume

    name = create_volume()
    yield name
    remove_volume(name)


@pytest.fixture(scope="session", autouse=True)
def _sweep_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Remove containers and volumes an interrupted earlier run left behind (docker runs only)."""
    yield
    if not any(item.get_closest_marker("docker") for item in request.session.items):
        return  # the unit tier: no engine needed, nothing started
    from plumbum.commands.processes import ProcessExecutionError
    from support.docker import SESSION_LABEL, docker

    try:
        ids = docker("ps", "-aq", "--filter", f"label={SESSION_LABEL}").split()
    except ProcessExecutionError:
        return  # no engine: nothing can be left behind
    if ids:
        docker("rm", "-f", "-v", *ids, retcode=None)
    vols = docker("volume", "ls", "-q", "--filter", f"label={SESSION_LABEL}").split()
    if vols:
        docker("volume", "rm", "-f", *vols, retcode=None)
    # Networks last: none can be removed while a container is still attached.
    nets = docker("network", "ls", "-q", "--filter", f"label={SESSION_LABEL}").split()
    if nets:
        docker("network", "rm", *nets, retcode=None)
