package dev.patchcord.transport;

/** Where a received message came from, and how to answer there (a UDP source, a TCP connection). */
public interface Origin {
    /** The source for cookie MACs; asked for handshake messages only. */
    byte[] sourceBytes();

    /** Sends a handshake answer back the way the message came. */
    void reply(byte[] message);

    /** Records that the peer at {@code endpoint} spoke from here; true if that moved it. */
    boolean observe(PeerEndpoint endpoint);

    String describe();
}
