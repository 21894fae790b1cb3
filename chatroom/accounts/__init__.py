"""Accounts: who is speaking, and what they may do.

- `chatroom.accounts.records`: the rows the store keeps (`Account`, `Token`).
- `chatroom.accounts.passwords`: the password rules and argon2id hashing, off the event loop and bounded.
- `chatroom.accounts.sessions`: the per-process cache of live sessions, filled in batches, and the open
  connections of each session, closed when it ends.
- `chatroom.accounts.service.Accounts`: the door to all of it, as the `Hub` is to the rooms: sign-up,
  sign-in, sign-out, invites, the first administrator's setup link, password resets, roles, bots.
- `chatroom.accounts.cli`: `python -m chatroom user add NAME --role admin`.

A session is a row in the store, referenced by a random token in the signed cookie (or, for a bot, in an
`Authorization: Bearer` header); the store keeps only the token's SHA-256. Ending it (sign-out, a new
password, deactivation) deletes the row and tells every process through the bus, which drops it from
its cache and closes the session's sockets and streams.
"""
