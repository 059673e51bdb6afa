package dev.patchcord.cluster;

/**
 * A store call that did not complete: etcd did not answer within the call timeout, refused the
 * request, or returned a value this version cannot read. The message is one line for a log.
 */
public class StoreException extends Exception {

    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
