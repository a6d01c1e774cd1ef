"""Outreach channels behind one seam (`Channel.send`), like httpx's transports."""

from outreach.channels.base import CHANNEL_NAMES, Channel, OutboundMessage, SendResult, SendStatus
from outreach.decide.decision import ChannelName

__all__ = ["CHANNEL_NAMES", "Channel", "ChannelName", "OutboundMessage", "SendResult", "SendStatus"]
