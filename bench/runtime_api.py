"""The one answer a Lambda Runtime API emulator gives that both bench drivers share: an
invocation for `GET /runtime/invocation/next` (stdlib only)."""
import time


def send_invocation(handler, request_id, function_name, body):
    """Writes a 200 with the invocation headers and `body` (bytes) on `handler` (an
    http.server.BaseHTTPRequestHandler), headers and body in one write: a headers write
    then a body write can meet the client's delayed ACK (+40 ms on a kept-alive
    connection)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
    handler.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
    handler.send_header("Lambda-Runtime-Invoked-Function-Arn",
                        f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}")
    handler.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
    handler.send_header("Content-Length", str(len(body)))
    handler._headers_buffer.append(b"\r\n" + body)
    handler.flush_headers()
