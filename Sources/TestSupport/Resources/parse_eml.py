#!/usr/bin/env python3
"""Reads an .eml with Python's e-mail parser (an independent MIME implementation) and prints what a mail
client would show, as JSON: decoded headers, text and HTML bodies, attachments (base64)."""
import base64, json, sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], "rb") as f:
    message = BytesParser(policy=policy.default).parse(f)
out = {"headers": {k: str(v) for k, v in message.items()}, "subject": str(message["subject"]), "from": str(message["from"]),
       "to": str(message["to"]), "text": None, "html": None, "attachments": [], "defects": [str(d) for d in message.defects]}
for part in message.walk():
    if part.is_multipart():
        continue
    if part.get_content_disposition() == "attachment":
        out["attachments"].append({"filename": part.get_filename(), "type": part.get_content_type(),
                                   "data": base64.b64encode(part.get_payload(decode=True)).decode()})
    elif part.get_content_type() == "text/plain" and out["text"] is None:
        out["text"] = part.get_content()
    elif part.get_content_type() == "text/html" and out["html"] is None:
        out["html"] = part.get_content()
print(json.dumps(out))
