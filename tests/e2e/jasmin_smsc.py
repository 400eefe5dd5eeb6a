"""Jasmin's own SMSC simulator on a TCP port, steered over a small HTTP control port.

Run by tests/e2e/test_jasmin.py with the Python of Jasmin's virtual environment (it needs
Twisted and smpp.pdu3, which Jasmin brings), never imported by the gateway's tests:

    python jasmin_smsc.py SIMULATOR_DIR SMPP_PORT CONTROL_PORT [REFUSED_NUMBER ...]

SIMULATOR_DIR holds ``smsc_simulator.py`` from Jasmin's source distribution
(``tests/protocols/smpp/``); its ``ManualDeliveryReceiptHappySMSC`` answers binds, records each
submit_sm and sends deliver_sm (MOs and receipts) on demand. This file adds only what a test
needs around it: a refusal for some numbers, and the control port.

    POST /deliver  source=&destination=&coding=0|8&text=   an MO (GSM default alphabet or UCS-2)
    POST /receipt  message_id=&stat=DELIVRD|UNDELIV|...     a delivery receipt for a submit_sm
    GET  /submits                                            every submit_sm received, as JSON
"""

from __future__ import annotations

import json
import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.web import resource, server


def main(simulator_dir: str, smpp_port: int, control_port: int, refused: set[str]) -> None:
    sys.path.insert(0, simulator_dir)
    from smpp.pdu.operations import DeliverSM
    from smpp.pdu.pdu_types import CommandStatus, DataCoding, DataCodingDefault
    from smsc_simulator import ManualDeliveryReceiptHappySMSC

    submits: list[dict[str, object]] = []
    pdus_by_id: dict[str, object] = {}
    bound: list[ManualDeliveryReceiptHappySMSC] = []

    class Smsc(ManualDeliveryReceiptHappySMSC):
        def connectionMade(self) -> None:
            bound.append(self)

        def connectionLost(self, reason: object) -> None:
            if self in bound:
                bound.remove(self)

        def handleSubmit(self, reqPDU: object) -> None:
            params = reqPDU.params
            record = {
                "source": _text(params["source_addr"]),
                "destination": _text(params["destination_addr"]),
                "data_coding": str(params.get("data_coding")),
                "short_message": _raw(params.get("short_message")).hex(),
            }
            if record["destination"] in refused:
                # An SMSC refusing a submit_sm at once: Jasmin's level-1 DLR reports it.
                self.sendResponse(reqPDU, CommandStatus.ESME_RINVDSTADR)
                record["status"] = "ESME_RINVDSTADR"
            else:
                ManualDeliveryReceiptHappySMSC.handleSubmit(self, reqPDU)
                message_id = _text(self.lastSubmitSmRestPDU.params["message_id"])
                record.update(status="ESME_ROK", message_id=message_id)
                pdus_by_id[message_id] = reqPDU
            submits.append(record)

    class Control(resource.Resource):
        isLeaf = True

        def render_GET(self, request: object) -> bytes:
            request.setHeader(b"Content-Type", b"application/json")
            return json.dumps(submits).encode()

        def render_POST(self, request: object) -> bytes:
            args = {k.decode(): v[0].decode("utf-8") for k, v in request.args.items()}
            if not bound:
                request.setResponseCode(503)
                return b"no SMPP client is bound"
            smsc = bound[-1]
            if request.path == b"/deliver":
                ucs2 = args.get("coding") == "8"
                scheme = DataCodingDefault.UCS2 if ucs2 else DataCodingDefault.SMSC_DEFAULT_ALPHABET
                smsc.trigger_deliver_sm(
                    DeliverSM(
                        source_addr=args["source"],
                        destination_addr=args["destination"],
                        short_message=args["text"].encode("utf-16-be" if ucs2 else "ascii"),
                        data_coding=DataCoding(schemeData=scheme),
                    )
                )
            elif request.path == b"/receipt":
                smsc.lastSubmitSmPDU = pdus_by_id[args["message_id"]]
                smsc.trigger_DLR(_id=args["message_id"], stat=args["stat"])
            else:
                request.setResponseCode(404)
                return b"unknown control path"
            return b"sent"

    factory = Factory.forProtocol(Smsc)
    reactor.listenTCP(smpp_port, factory, interface="127.0.0.1")
    reactor.listenTCP(control_port, server.Site(Control()), interface="127.0.0.1")
    print(f"smsc listening on {smpp_port}, control on {control_port}", flush=True)
    reactor.run()


def _raw(value: object) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: object) -> str:
    return _raw(value).decode("ascii", "replace")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), set(sys.argv[4:]))
