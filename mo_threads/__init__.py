"""mo_threads: threads that start simply and stop in order.

Layers, each importing only from those above it:

    _vocabulary  PLEASE_STOP, every exception, the argument checks (imports nothing of ours)
    signals      Signal, DONE, NEVER          one-shot events, | and &
    till         Till                          timers: one thread, one heap
    lock         Lock, locked                  non-reentrant monitor with wait(till=)
    threads      Thread, MainThread, ...       the thread tree and orderly shutdown
                 (_registry, _watchdog, _os_signals: its private machinery)
    queues       Queue, PriorityQueue, ThreadedQueue
    futures, pools     Future, ThreadPool
    sync, channels, waiting, groups, supervise    structured concurrency: Semaphore,
                 Barrier, Latch, Channel, wait_any, ThreadGroup, supervise
    processes, commands, python    child processes
    profiles, busy_lock, repeat    profiling and small tools
    aio          wait, pop, receive, run_in_thread    asyncio bridges (import mo_threads.aio)

Importing starts nothing: the timer thread starts with the first Till, and the
exit hook and SIGINT/SIGTERM handlers (and the SIGUSR1 thread dump, unless the
program handles SIGUSR1 itself) with the first Thread.
"""

from mo_threads._version import __version__
from mo_threads.busy_lock import BusyLock
from mo_threads.channels import Channel
from mo_threads.commands import Command
from mo_threads.futures import Future
from mo_threads.groups import ThreadGroup
from mo_threads.lock import Lock, locked
from mo_threads.pools import ThreadPool
from mo_threads.processes import Process
from mo_threads.python import Python
from mo_threads.queues import PriorityQueue, Queue, ThreadedQueue
from mo_threads.repeat import Repeat
from mo_threads.waiting import Fired, wait_any
from mo_threads._introspect import dump_on_signal, dump_threads
from mo_threads.metrics import reset_statistics, set_wait_threshold, statistics
from mo_threads.signals import DONE, NEVER, Signal
from mo_threads.supervise import supervise
from mo_threads.sync import Barrier, BoundedSemaphore, Latch, Semaphore
from mo_threads.threads import (
    MAIN_THREAD,
    AlienThread,
    BaseThread,
    MainThread,
    RegisterThread,
    Thread,
    current_thread,
    join_all_threads,
    register_thread,
    set_grace_period,
    start_main_thread,
    stop_main_thread,
    wait_for_shutdown_signal,
)
from mo_threads.till import Till
from mo_threads._vocabulary import (  # the shared vocabulary, also re-exported by the modules that raise it
    PLEASE_STOP,
    THREAD_STOP,
    THREAD_TIMEOUT,
    AllFailed,
    BrokenBarrierError,
    ChannelClosed,
    DeadlockError,
    ThreadGroupError,
    ThreadTimeout,
)

__all__ = (
    "__version__",
    "Signal",
    "DONE",
    "NEVER",
    "Till",
    "dump_threads",
    "dump_on_signal",
    "statistics",
    "reset_statistics",
    "set_wait_threshold",
    "DeadlockError",
    "Lock",
    "locked",
    "BusyLock",
    "Repeat",
    "PLEASE_STOP",
    "THREAD_STOP",
    "THREAD_TIMEOUT",
    "ThreadTimeout",
    "BaseThread",
    "Thread",
    "AlienThread",
    "MainThread",
    "MAIN_THREAD",
    "RegisterThread",
    "register_thread",
    "current_thread",
    "join_all_threads",
    "start_main_thread",
    "stop_main_thread",
    "wait_for_shutdown_signal",
    "set_grace_period",
    "Queue",
    "PriorityQueue",
    "ThreadedQueue",
    "ThreadPool",
    "Future",
    "AllFailed",
    "Process",
    "Command",
    "Python",
    "ThreadGroup",
    "ThreadGroupError",
    "Channel",
    "ChannelClosed",
    "Semaphore",
    "BoundedSemaphore",
    "Barrier",
    "BrokenBarrierError",
    "Latch",
    "wait_any",
    "Fired",
    "supervise",
)
