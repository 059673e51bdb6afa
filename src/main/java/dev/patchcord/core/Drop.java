package dev.patchcord.core;

/** Why a packet was dropped. Every drop is counted under one of these reasons. */
public enum Drop {
    /** A datagram with no payload. */
    EMPTY("empty"),
    /** Shorter than the smallest valid frame or packet (an Ethernet header, an IP header). */
    RUNT("runt"),
    /** Longer than the largest frame or datagram this mode may carry. */
    OVERSIZE("oversize"),
    /** Not an IP packet, or one whose length fields contradict themselves. */
    MALFORMED("malformed"),
    /** The last packet of a datagram is cut short. */
    TRUNCATED("truncated"),
    /** No peer address is known yet to send to. */
    NO_PEER("no-peer"),
    /** The kernel refused to send the datagram (no route, …). */
    SEND_ERROR("send-error"),
    /** The interface refused a packet. */
    DEVICE_ERROR("device-error");

    private final String label;

    Drop(String label) {
        this.label = label;
    }

    /** The short name used in status output. */
    public String label() {
        return label;
    }
}
