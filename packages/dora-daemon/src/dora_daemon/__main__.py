"""``python -m dora_daemon``: the same command as ``dora daemon`` (see
:mod:`dora_daemon.command`); ``dora up`` starts the daemon this way."""

from dora_daemon.command import daemon

daemon(prog_name="dora-daemon")
