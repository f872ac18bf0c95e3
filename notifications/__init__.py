"""Notifications (issue 7): an outbox written with the event, a worker that delivers it, four channels.

* ``outbox.enqueue(session, user_id, event, context, dossier_id=None)`` writes the inbox item and one
  delivery per outward channel in the caller's transaction; ``domain.dossiers.lifecycle.fire`` calls
  it for every dossier event, ``codes.deliver_code`` for one-time codes.
* ``worker.Worker`` claims due deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sends them with
  timeouts, records every attempt, retries with capped exponential back-off honouring ``Retry-After``
  and ends in ``delivered | temporary-failure | permanent-failure | technical-failure``. It runs as
  ``motcua worker`` or inside the web process (``MOTCUA_EMBEDDED_WORKER=1``).
* Channels: ``channels.inbox`` (always), ``channels.webpush`` (VAPID + aes128gcm via pywebpush, SSRF
  guarded by ``ssrf``), ``channels.email`` (SMTP), ``channels.sms`` (an interface; a logging provider).
* ``templates.toml``: the texts per event and language; ``preferences``: per person and event type.
"""
