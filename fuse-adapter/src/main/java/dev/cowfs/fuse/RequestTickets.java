package dev.cowfs.fuse;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Which requests are being answered, so that a notification is written only after every reply that may carry what
 * it invalidates. A request that read a name or attributes before a change made outside the kernel (the control
 * channel's commands, a rollback) must reach the kernel before the notification of that change; otherwise the
 * kernel would cache the stale answer after forgetting the old one, for as long as the timeouts allow (a day by
 * default). Each receiving thread takes a ticket, increasing, before it answers a request and gives it back once
 * the reply is written; the notifier waits until no request holding a ticket from before the change is left.
 * Requests taken after the change see its result, whatever their order.
 */
final class RequestTickets {
    private final AtomicLong issued = new AtomicLong();
    /** Per receiving thread: the ticket of the request it answers, or 0 while it waits for one. */
    private final AtomicLongArray current;

    RequestTickets(int threads) {
        current = new AtomicLongArray(threads);
    }

    /** Receiving thread {@code thread} starts answering a request. */
    void begin(int thread) {
        current.set(thread, issued.incrementAndGet());
    }

    /** Receiving thread {@code thread} wrote its reply (or had none to write). */
    void end(int thread) {
        current.set(thread, 0);
    }

    /** The last ticket handed out: every request that started before now holds one no greater. */
    long issued() {
        return issued.get();
    }

    /**
     * Waits until no request holding ticket {@code last} or an earlier one is still being answered. A thread
     * between taking its ticket and publishing it has not started to answer, so it cannot carry older state.
     */
    void awaitAnswered(long last) {
        for (int i = 0; i < current.length(); i++) {
            long spins = 0;
            while (true) {
                long ticket = current.get(i);
                if (ticket == 0 || ticket > last) {
                    break;
                }
                if (++spins < 100) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(50_000);
                }
            }
        }
    }
}
