"""A FOREIGN ECHONET Lite controller for the interop test: pychonet (PyPI) drives the
AEMS simulator's storage battery over UDP 3610 on loopback.

    python pychonet_controller.py DEVICE_IP LOCAL_IP [LIMIT_W]

pychonet sends to port 3610 and listens on LOCAL_IP:3610, so the device (our simulator)
and pychonet need distinct loopback addresses (e.g. 127.0.0.2 and 127.0.0.1).
Steps: discovery (node profile 0xD6 by unicast), property maps, Get of SOC (0xE4) and
power (0xD3), a SetC of mode charging (0xDA = 0x42) + charging power 1500 W (0xEB) in one
frame and their read-back, then a SetC of 0xEB beyond the device's limit (LIMIT_W + 1000)
that must be refused (SetC_SNA) and leave 0xEB as it was.
Prints one JSON object on stdout; exits 0 when pychonet could run the steps (the Rust test
judges the values).
"""

import asyncio
import json
import sys

from pychonet.echonetapiclient import ECHONETAPIClient
from pychonet.lib.udpserver import UDPServer
from pychonet.StorageBattery import StorageBattery


def raw(api, host, epc):
    edt = api._state[host]["instances"][0x02][0x7D][0x01].get(epc)
    return edt.hex() if isinstance(edt, (bytes, bytearray)) else edt


async def main(device, local, limit_w):
    loop = asyncio.get_running_loop()
    udp = UDPServer(local_ip=local)
    udp.run(local, 3610, loop=loop)
    api = ECHONETAPIClient(udp)
    # The service code (ESV) of every frame the device sends, to tell a refusal (SetC_SNA
    # 0x51) from a timeout: pychonet's setMessage returns False for both.
    esvs = []

    async def record(data, addr):
        if addr[0] == device and len(data) >= 12:
            esvs.append(data[10])

    udp.subscribe(record)
    api.configure(message_timeout=30, logger=lambda *a: print(*a, file=sys.stderr))
    out = {}
    out["discover"] = await api.discover(device)
    for _ in range(30):
        if api._state.get(device, {}).get("discovered"):
            break
        await asyncio.sleep(0.1)
    inst = api._state.get(device, {}).get("instances", {})
    out["instances"] = sorted(
        f"0x{g:02X}{c:02X}{i:02X}" for g in inst for c in inst[g] for i in inst[g][c]
    )
    out["maps"] = await api.getAllPropertyMaps(device, 0x02, 0x7D, 0x01)
    bat = StorageBattery(device, api, 0x01)
    out["set_map"] = sorted(bat.getSetProperties())
    values = await bat.update([0xE4, 0xD3, 0xDA])
    out["soc_pct"] = values.get(0xE4)
    out["power_w"] = values.get(0xD3)
    mark = len(esvs)
    out["set_ok"] = await bat.setMessages(
        [
            {"EPC": 0xDA, "PDC": 1, "EDT": 0x42},
            {"EPC": 0xEB, "PDC": 4, "EDT": 1500},
        ]
    )
    out["set_esv"] = esvs[mark] if len(esvs) > mark else None
    await bat.update([0xDA, 0xEB])
    out["mode_after_set"] = raw(api, device, 0xDA)
    out["charge_w_after_set"] = raw(api, device, 0xEB)
    mark = len(esvs)
    out["beyond_ok"] = await bat.setMessage(0xEB, limit_w + 1000, 4)
    out["beyond_esv"] = esvs[mark] if len(esvs) > mark else None
    await bat.update([0xEB])
    out["charge_w_after_beyond"] = raw(api, device, 0xEB)
    udp.close()
    print(json.dumps(out))


if __name__ == "__main__":
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], limit), 30))
