package dev.patchcord.core.offload;

import java.nio.ByteBuffer;

import static dev.patchcord.core.NetHeaders.be16;

/**
 * Where the IP packet starts in an Ethernet frame, for the offloads of a TAP device
 * ({@link TsoSplitter#splitFrame}, {@link GroCoalescer#addFrame}): they cut and merge the IP
 * packet and copy the link header in front of each piece unchanged.
 *
 * <p>What is understood: an untagged frame (14-byte header) and a frame with one 802.1Q or
 * 802.1ad tag (18 bytes), with IPv4 or IPv6 behind. Anything else (ARP, LLDP, two tags, an
 * EtherType below 0x0600 that is an 802.3 length) is not IP here: it is neither cut nor merged,
 * and goes through whole.
 */
public final class EthernetHeader {
    private EthernetHeader() {}

    /** Destination and source MAC addresses and the EtherType. */
    public static final int UNTAGGED = 14;
    /** The same with one VLAN tag (TPID and TCI) before the EtherType. */
    public static final int TAGGED = 18;
    /** What {@link #ipOffset} says of a frame that is not IP. */
    public static final int NOT_IP = -1;

    static final int ETHERTYPE = 12;
    static final int IPV4 = 0x0800;
    static final int IPV6 = 0x86dd;
    static final int VLAN = 0x8100;
    static final int QINQ = 0x88a8;

    /**
     * The length of the link header of the {@code len}-byte frame at {@code buf[off]} if an IPv4
     * or IPv6 packet follows it ({@link #UNTAGGED} or {@link #TAGGED}), else {@link #NOT_IP}.
     * Whether the IP packet itself is whole is for the caller to check.
     */
    public static int ipOffset(ByteBuffer buf, int off, int len) {
        if (len < UNTAGGED) {
            return NOT_IP;
        }
        int type = be16(buf, off + ETHERTYPE);
        if (type == IPV4 || type == IPV6) {
            return UNTAGGED;
        }
        if ((type == VLAN || type == QINQ) && len >= TAGGED) {
            int inner = be16(buf, off + ETHERTYPE + 4);
            return inner == IPV4 || inner == IPV6 ? TAGGED : NOT_IP;
        }
        return NOT_IP;
    }

    /** The IP version the EtherType in front of the IP packet at {@code buf[ip]} names: 4 or 6. */
    static int etherVersion(ByteBuffer buf, int ip) {
        return be16(buf, ip - 2) == IPV4 ? 4 : 6;
    }
}
