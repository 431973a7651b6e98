"""dora_coordinator: the control plane across machines.

Start it with ``python -m dora_coordinator`` or ``dora coordinator``; embed it with
:class:`~dora_coordinator.server.Coordinator` and
:class:`~dora_coordinator.server.CoordinatorConfig` (imported lazily from there, so that
importing this package stays cheap).
"""
