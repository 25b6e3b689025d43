"""acd.ami: the ACD's adapter to Asterisk's manager interface (AMI).

What the ACD uses, and how (built once in ``acd.bootstrap``, read by ``acd.ami.pump``; nothing connects at
import)::

    link = AmiLink(LinkSettings(host=..., port=5038, username="acd", secret=os.environ[...]))
    link.start()                                   # connects, logs in, reconnects forever
    token = EventToken()                           # this run's; proves an Acd* event is the dialplan's
    translator = Translator(config, acd_has_call=core_has_call_on_agent, catalogue=queue_catalogue, token=token,
                            on_refused=count_refusal)
    control = AmiCallControl(link, book=translator.book)  # the runtime's call control: send(command)
    async for item in link.events():               # ONE consumer, arrival order
        if isinstance(item, LinkUp):               # every (re)connect: rebuild what was missed,
            await control.set_token(token, time.time())   # the global ACD_TOKEN, before the resync
            feed(ResyncStarted())                  # loaded whole, then routed once
            for event in translator.reconcile(await resync(link)): feed(event)
            feed(ResyncFinished())
        elif isinstance(item, LinkDown):
            ...                                    # acd_ami_connected = 0; keep serving from memory
        else:
            for event in translator.translate(item): feed(event)
    await control.send(command)                    # RingAgent, CancelOffer, OverflowCall, TagCall
    await link.close()

Modules: ``wire`` (framing), ``session`` (one TCP session), ``link`` (reconnect, watchdog,
stream), ``pump`` (the one reader), ``errors``, ``settings``, ``translate`` + ``callers`` +
``phone_presence`` + ``roster`` (AMI → core events), ``resync`` + ``reconcile`` (catching up after
a reconnect), ``ended_unseen`` (closing calls that ended while no ACD listened, after a restart),
``control`` (call-control actions), ``pbx_control`` (each command to its
call's PBX), ``identity`` (call ids), ``token`` + ``fields`` (which events
are believed: docs/dialplan.md, "Which events the ACD believes"), ``fake_server`` (a loopback AMI
for tests).

Event filter for the AMI user (manager.conf)
--------------------------------------------
The ACD reads five events: UserEvent (``Acd*`` only), Hangup, DialEnd, DeviceStateChange (PJSIP
devices) and ContactStatus. Two layers keep the rest off the link, which costs Asterisk the
formatting and the socket and costs us the parse (a call's end brings about ten events, all read
before the ``AcdDialResult`` behind them, on the way to the next caller's ring):

- the read classes (``read = system,call,user``) drop the dialplan class (``Newexten``, ``VarSet``:
  every step of every waiting caller), ``reporting`` (RTCP), ``cdr``, ``agent``...;
- the user's ``eventfilter`` lines in dialplan/pbx/manager.conf.in (Asterisk's advanced filters,
  include only, so everything else is dropped for this user) let through those five alone; which and
  why: docs/dialplan.md, "The events the ACD's AMI user receives".

Replies to the ACD's own list actions (CoreShowChannels, DeviceStateList, DBGetTree) are answers to
actions, not broadcast events, and no filter touches them. Nothing breaks on a PBX without the filter:
the translator counts every other event as ignored.
"""

from acd.ami.control import AmiCallControl
from acd.ami.errors import AmiActionError, AmiDisconnected, AmiError, AmiTimeout
from acd.ami.identity import CALL_NAMESPACE, call_id_for
from acd.ami.link import AmiLink, LinkDown, LinkItem, LinkUp
from acd.ami.resync import ResyncResult, resync
from acd.ami.session import LinkCounters
from acd.ami.settings import LinkSettings
from acd.ami.translate import TranslateCounters, Translator
from acd.ami.wire import Message

__all__ = [
    "CALL_NAMESPACE",
    "AmiActionError",
    "AmiCallControl",
    "AmiDisconnected",
    "AmiError",
    "AmiLink",
    "AmiTimeout",
    "LinkCounters",
    "LinkDown",
    "LinkItem",
    "LinkSettings",
    "LinkUp",
    "Message",
    "ResyncResult",
    "TranslateCounters",
    "Translator",
    "call_id_for",
    "resync",
]
