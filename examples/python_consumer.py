#!/usr/bin/env python3
"""A program that uses the token: run it under `rotary exec`, which puts the secret in
ROTARY_TOKEN (never on the command line). See docs/consumers.md.

    rotary exec --store token.store --key-file key -- \
        python3 examples/python_consumer.py https://customer-be.example.com/api/index/v1/ping

Prints the HTTP status; exits 0 on a 2xx answer, 1 otherwise, 2 on usage errors.
"""
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python_consumer.py URL", file=sys.stderr)
        return 2
    token = os.environ.get("ROTARY_TOKEN")
    if not token:
        print("python_consumer: ROTARY_TOKEN is not set (run me under rotary exec)", file=sys.stderr)
        return 2
    request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            print(answer.status)
            return 0
    except urllib.error.HTTPError as e:  # never print the token, only the status
        print(e.code)
        return 1
    except urllib.error.URLError as e:
        print("python_consumer: " + str(e.reason), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
