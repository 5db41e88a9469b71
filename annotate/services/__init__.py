"""Writes for annotation, one module per concern (as Zulip's ``zerver/actions/``): ``campaigns``
(create, extend, open/close/archive), ``serving`` (reserve, sweep, skip), ``labels``, ``gold``,
and the ``errors`` they raise. Reads are in ``annotate.selectors``. Callers import from the
module that owns the function; nothing is re-exported here."""
