"""The tutorial's consumer, and the same chat written as an AsyncWebsocketConsumer."""

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer

GROUP = "test"
WELCOME = {"type": "connection_established", "message": "You are now connected!"}


class ChatConsumer(WebsocketConsumer):
    def connect(self) -> None:
        self.room_group_name = GROUP
        async_to_sync(self.channel_layer.group_add)(self.room_group_name, self.channel_name)
        self.accept()
        self.send(text_data=json.dumps(WELCOME))

    def disconnect(self, close_code: int) -> None:
        async_to_sync(self.channel_layer.group_discard)(self.room_group_name, self.channel_name)

    def receive(self, text_data: str) -> None:
        message = json.loads(text_data)["message"]
        async_to_sync(self.channel_layer.group_send)(self.room_group_name, {"type": "chat_message", "message": message})

    def chat_message(self, event: dict[str, Any]) -> None:
        self.send(text_data=json.dumps({"type": "chat", "message": event["message"]}))


class AsyncChatConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.room_group_name = GROUP + "-async"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps(WELCOME))

    async def disconnect(self, close_code: int) -> None:
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data: str) -> None:
        message = json.loads(text_data)["message"]
        await self.channel_layer.group_send(self.room_group_name, {"type": "chat_message", "message": message})

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"type": "chat", "message": event["message"]}))
