package dev.cowfs.fs.send;

import java.io.IOException;

/** A send stream that cannot be received as it is: not one, damaged, cut short or out of order. */
public final class SendStreamException extends IOException {
    public SendStreamException(String message) {
        super(message);
    }
}
