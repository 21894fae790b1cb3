"""chatroom: a real-time chat rendered on the server and delivered over WebSockets or Server-Sent Events.

Read this first. It is the map: the parts, then a message's path function by function. Every name
in backquotes is real (a unit test resolves each one), so the map cannot drift from the code.

The parts, outermost first; each layer calls only the ones below it:

    app.py          `chatroom.app.create_app`: routes, middleware, and the lifespan that opens the store and the bus
    web/            the HTTP side: pages and forms, error pages, security headers, /healthz, htmx's files,
                    the server's bounds on request heads (`chatroom.web.http_protocol.BoundedHeadProtocol`)
                    and its lean WebSocket protocol (`chatroom.web.ws_protocol.LeanWebSocketProtocol`)
    transports/     the live wires: the htmx WebSocket, the seed's JSON WebSocket, Server-Sent Events
    rooms/          the room runtime of one process; `chatroom.rooms.hub.Hub` is its only door
    accounts/       who is speaking: accounts, sessions, invites, bots; `chatroom.accounts.service.Accounts`
                    is its door, as the hub is the rooms'
    store/, bus/    the durable message store (SQLite, PostgreSQL) and the bus between processes
    errors.py       every error and what it becomes on each wire; settings.py, identity.py, validation.py
    collector.py    when the garbage collector walks everything (`chatroom.collector.Collector`): as memory grows

Nothing in web/ or transports/ touches the store or the bus except through the hub (or, for accounts,
through `chatroom.accounts.service.Accounts`).

A message sent over the htmx WebSocket:

 1. The browser's form sends `{"message": ...}` as JSON (htmx's ws extension, no JavaScript of ours).
 2. `chatroom.app.ChatApp.__call__` takes WebSocket routes before the HTTP middleware and calls
    `chatroom.transports.htmx_ws.htmx_socket`, which runs `chatroom.transports.socket.RoomSocket.run`.
 3. `chatroom.transports.socket.RoomSocket._serve` takes the frame (bounded in size),
    `chatroom.transports.socket.RoomSocket._on_frame` parses it, and
    `chatroom.transports.htmx_ws.HtmxSocket.received` hands the text to
    `chatroom.transports.socket.RoomSocket.post`.
 4. `chatroom.rooms.hub.Hub.post` checks it (`chatroom.validation.message_text`), limits the sender
    (`chatroom.rooms.ratelimit.RateLimiter.allow`) and stores it: `chatroom.store.MessageStore.append`
    (`chatroom.store.sqlite.SQLiteStore.append` or `chatroom.store.postgres.PostgresStore.append`)
    gives it the room's next gapless `seq`, in one commit with the appends made meanwhile
    (`chatroom.store.group_commit.ThreadGroupCommit`, `chatroom.store.group_commit.GroupCommit`).
    Only then is it announced: to this process's feed at once
    (`chatroom.rooms.feed.RoomFeed.receive`) and, on a bus that reaches other processes
    (`chatroom.bus.Bus.shared`: Redis or PostgreSQL, not memory://), to them with
    `chatroom.bus.Bus.publish_message` (`chatroom.bus.encode_message`).
 5. The sender gets an empty input and no error (`chatroom.rooms.render.Fragments.message_input`,
    `chatroom.rooms.render.Fragments.errors`); a refusal
    is a `chatroom.errors.ChatError` that `chatroom.transports.htmx_ws.HtmxSocket.refused` shows in `#errors`.
    Over HTTP the same door is `chatroom.web.pages.post_message`.

Received, in every process:

 6. `chatroom.rooms.feed.RoomFeed._follow` holds the room's subscription (`chatroom.bus.Bus.subscribe`,
    events from `chatroom.bus.decode`) and passes each to `chatroom.rooms.feed.RoomFeed._on_event`, then
    `chatroom.rooms.feed.RoomFeed.receive`. The next `seq` is delivered; a jump means an event was lost,
    and `chatroom.rooms.feed.RoomFeed._catch_up` reads what is missing from the store.
 7. `chatroom.rooms.feed.RoomFeed._deliver` renders it once for everyone
    (`chatroom.rooms.render.RenderedMessage`: `chatroom.rooms.render.Fragments.message` for the item,
    `chatroom.rooms.render.RenderedMessage.html` for the htmx and SSE frame,
    `chatroom.rooms.render.RenderedMessage.json` for the JSON protocol) and offers it to every viewer with
    `chatroom.rooms.feed.RoomFeed.send_to_all`.
 8. Each connection's bounded outbox: `chatroom.rooms.outbox.SocketOutbox.offer` notes what this turn of
    the event loop sends it, and at the turn's end `chatroom.rooms.outbox.Turn` has every such outbox write
    its frames in one go: `chatroom.transports.socket.RoomSocket.write_now` frames the texts
    (`chatroom.transports.htmx_ws.HtmxSocket.texts`) and writes them straight to the connection
    (`chatroom.web.ws_protocol.LeanWebSocketProtocol.write_now`), or, where it cannot,
    `chatroom.rooms.eager.start_eagerly` runs `chatroom.transports.socket.RoomSocket.write`. It queues only
    behind a slow reader, which it drops (close 1013); an SSE stream takes frames with
    `chatroom.rooms.outbox.Outbox.take` in `chatroom.transports.sse.room_events`.

A connection's start (connect or reconnect):

 9. `chatroom.rooms.hub.Hub.connect` readies the room's feed (`chatroom.rooms.feeds.Feeds.ready`),
    joins it, lists the person (`chatroom.rooms.presence.Presence.arrive`), and
    `chatroom.rooms.starts.start` decides what the connection is sent first and sets its outbox's floor
    (the one place that does): the snapshot (`chatroom.rooms.feed.RoomFeed.snapshot`, or from the page's
    first message when the socket says `?from=`: `chatroom.rooms.render.Fragments.messages_from`), or for an SSE
    `Last-Event-ID` the messages it missed (`chatroom.rooms.history.History.after`, rendered once per
    process for every request that asks again: `chatroom.rooms.render_cache.RenderCache.run`), with the room's
    people, who types and the room list (`chatroom.rooms.hub.Hub.people_snapshot`). The transport sends it
    (`chatroom.transports.htmx_ws.HtmxSocket.started`), then `chatroom.rooms.outbox.SocketOutbox.open`
    lets the frames that queued meanwhile follow, minus those at or below the floor.

Who is speaking: every HTTP request passes `chatroom.web.access.Visitors`, which asks
`chatroom.accounts.service.Accounts.person` for the account behind the cookie's session token (a
per-process cache filled in batches: `chatroom.accounts.sessions.Sessions.account`) and, with
`ACCESS=members`, turns away visitors who are not signed in; a socket asks the same in
`chatroom.transports.socket.RoomSocket._identify` (a bot by its bearer token) and is closed if its session
ends (`chatroom.accounts.sessions.Sessions.watch`). A guest's chosen name must not be an account's
(`chatroom.accounts.service.Accounts.claim`, asked by `chatroom.rooms.hub.Hub.post`).

Who may read a room: `chatroom.rooms.access.Access.can_read`, asked at every door. A public room costs nothing; a
private room (its name starts with `chatroom.rooms.access.PRIVATE`) is its members' only, from a per-process cache
that the bus keeps exact. Every HTTP door of a private room passes `chatroom.web.private_doors.PrivateRoomDoors`
(404 for anyone else), the sockets ask at their handshake (`chatroom.transports.socket.RoomSocket.run`, 403), and a
member who leaves loses their connections in every process (`chatroom.rooms.access.Access.watch`). Private rooms
and direct conversations are made and shared in `chatroom.rooms.private.PrivateRooms`.

A page: `chatroom.web.pages.room` asks `chatroom.rooms.hub.Hub.room_view` for the messages, people
and room list, and renders `templates/room.html` from the same partials that travel on the wire.

Unread counts of signed-in people: who a message mentions is parsed once, as it is stored
(`chatroom.mentions.mentioned`, in the append's statement). `chatroom.rooms.unread.Unread.arrive` reads a
person's counts when their first connection here starts, read with those of the people arriving with them
(`chatroom.rooms.throttle.Batched`, `chatroom.store.MessageStore.readings_of`); then
each new message a feed delivers adds to them in memory (`chatroom.rooms.unread.Unread.message`, no
query), and reads are written and announced in batches (`chatroom.bus.Bus.publish_reads`). Their list
and title: `chatroom.rooms.render.Fragments.personal_room_list`, `chatroom.rooms.render.Fragments.title`.
"""
