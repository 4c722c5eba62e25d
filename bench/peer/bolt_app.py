"""The benchmark peer: a minimal Bolt for Python app that verifies Slack signatures and acks events.

Bolt is the framework most Slack bots run on (ChatGPT-in-Slack among them). This app does what
chief's edge does before its own work — verify the signature, parse, acknowledge — and nothing else,
so `chief bench intake` can compare acked events/s under the same load. It uses Bolt's async app on
aiohttp (its production-grade built-in server) in one process.
"""

import argparse
import os

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.adapter.aiohttp import to_bolt_request, to_aiohttp_response
from slack_bolt.authorization import AuthorizeResult


async def authorize(enterprise_id, team_id, logger):
    # A fixed installation: Bolt's single-token mode would call auth.test on Slack first, and the
    # benchmark runs on loopback only (chief's edge does not call Slack before acking either).
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-bench-peer",
        bot_user_id="UBOT",
        bot_id="BBOT",
    )


app = AsyncApp(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    authorize=authorize,
    request_verification_enabled=True,
)


@app.event("message")
async def on_message(ack):
    await ack()


async def events(request: web.Request) -> web.Response:
    bolt_request = await to_bolt_request(request)
    bolt_response = await app.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=3001)
    args = parser.parse_args()
    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    web.run_app(web_app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
