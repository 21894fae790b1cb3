from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"ws/socket-server/$", consumers.ChatConsumer.as_asgi()),
    re_path(r"ws/async-socket-server/$", consumers.AsyncChatConsumer.as_asgi()),
]
