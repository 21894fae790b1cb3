from django.http import HttpRequest, HttpResponse

PAGE = """<!doctype html><title>Lobby</title><h1>Lets chat!</h1>
<form id="form"><input type="text" name="message"></form><div id="messages"></div>
<script>
const socket = new WebSocket(`ws://${window.location.host}/ws/socket-server/`);
socket.onmessage = (e) => {
  const data = JSON.parse(e.data);
  if (data.type === "chat") {
    document.getElementById("messages").insertAdjacentHTML("beforeend", `<div><p>${data.message}</p></div>`);
  }
};
document.getElementById("form").addEventListener("submit", (e) => {
  e.preventDefault();
  socket.send(JSON.stringify({message: e.target.message.value}));
  e.target.reset();
});
</script>"""


def lobby(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)
