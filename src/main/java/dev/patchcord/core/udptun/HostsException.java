package dev.patchcord.core.udptun;

/** A hosts table that cannot be loaded; the message is one line and names the offending key. */
public final class HostsException extends Exception {
    public HostsException(String message) {
        super(message);
    }
}
