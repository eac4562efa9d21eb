package dev.cowfs.fuse;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RequestTicketsTest {
    /**
     * A notification waits for the requests answered from before its change and only for those: a request taken
     * after the change, however long it runs, does not hold it back.
     */
    @Test
    void aNotificationWaitsForTheRequestsBeforeItsChangeOnly() throws Exception {
        RequestTickets tickets = new RequestTickets(3);
        tickets.begin(0); // answering from the old state
        tickets.begin(1);
        tickets.end(1); // replied already
        long change = tickets.issued();
        tickets.begin(2); // started after the change: sees the new state
        CompletableFuture<Void> notified = CompletableFuture.runAsync(() -> tickets.awaitAnswered(change));
        assertThrows(TimeoutException.class, () -> notified.get(200, TimeUnit.MILLISECONDS));
        assertFalse(notified.isDone());
        tickets.end(0);
        notified.get(10, TimeUnit.SECONDS);
        assertEquals(3, tickets.issued());
        tickets.end(2);
    }

    @Test
    void nothingInFlightWaitsForNothing() {
        RequestTickets tickets = new RequestTickets(2);
        tickets.begin(0);
        tickets.end(0);
        tickets.awaitAnswered(tickets.issued()); // returns at once, or the test times out under the suite's limit
        assertEquals(1, tickets.issued());
    }
}
