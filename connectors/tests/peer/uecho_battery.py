"""A FOREIGN ECHONET Lite device for the interop test: a storage battery (0x027D01) made
with uEcho for Python (PyPI `uecho`, Satoshi Konno's framework, whose objects carry the
properties of the ECHONET Machine Readable Appendix), answering on LOCAL_IP:3610.

    python uecho_battery.py LOCAL_IP [RATED_W]

The device holds SOC 62 % (0xE4) and charges at 800 W (0xD3 = +800: the device counts
charging positive); it accepts operation mode settings 0x42/0x43/0x44/0x46 (0xDA) and
charging / discharging power settings (0xEB / 0xEC) up to its rated RATED_W (default
4000 W), and refuses anything else (SetC_SNA), as its own rule. Only loopback: uecho's
interface scan and multicast socket (bound to 0.0.0.0) are replaced by LOCAL_IP alone.
Prints "ready" once serving; stops on stdin EOF or after 120 s.
"""

import sys
import threading

import uecho
from uecho.frame import manager as uecho_manager
from uecho.frame.interface import Interface
from uecho.object import ObjectRequestHandler

LOCAL_IP = sys.argv[1]
RATED_W = int(sys.argv[2]) if len(sys.argv) > 2 else 4000


class NoMulticast:
    """Stands in for uecho's multicast server: no socket on 0.0.0.0 (loopback tests)."""

    def __init__(self):
        self.ifaddr = LOCAL_IP
        self.port = 3610

    def bind(self, ifaddr):
        return True

    def start(self):
        return True

    def stop(self):
        return True

    def add_observer(self, observer):
        return True

    def announce_message(self, msg):
        return True

    def send_message(self, msg, addr):
        return False


Interface.get_all_ipaddrs = staticmethod(lambda: [LOCAL_IP])
uecho_manager.MulticastServer = NoMulticast


class Battery(uecho.Device, ObjectRequestHandler):
    def __init__(self):
        super().__init__(0x027D01)
        self.set_property_integer(0x80, 0x30, 1)
        self.set_property_integer(0xE4, 62, 1)
        self.set_property_data(0xD3, (800).to_bytes(4, "big", signed=True))
        self.set_property_integer(0xCF, 0x46, 1)
        self.set_property_integer(0xDA, 0x46, 1)
        self.set_property_integer(0xEB, 0, 4)
        self.set_property_integer(0xEC, 0, 4)
        self.set_request_handler(self)

    def property_read_requested(self, prop):
        return prop is not None and prop.data is not None and len(prop.data) > 0

    def property_write_requested(self, prop, data):
        if prop.code == 0xDA:
            return len(data) == 1 and data[0] in (0x42, 0x43, 0x44, 0x46)
        if prop.code in (0xEB, 0xEC):
            return len(data) == 4 and int.from_bytes(data, "big") <= RATED_W
        return False


node = uecho.LocalNode()
node.add_object(Battery())
if not node.start():
    sys.exit(f"uecho could not start on {LOCAL_IP}:3610")
print("ready", flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
done.wait(120)
node.stop()
