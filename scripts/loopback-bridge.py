#!/usr/bin/env python3
"""Forwards TCP from [::1]:PORT to 127.0.0.1:PORT (stdlib only).

`cargo lambda invoke` dials [::1]:9000 unless told otherwise, and cargo-lambda has no
configuration for invoke's address; `make run` serves the API on 127.0.0.1 only (loopback,
never every interface). This bridge, also on loopback only, lets a plain
`cargo lambda invoke <fn> --data-file events/<file>.json` reach the same emulator.

Usage: loopback-bridge.py PORT   (runs until killed)
"""
import asyncio
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer)
        )

    server = await asyncio.start_server(handle, "::1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
