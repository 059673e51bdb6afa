package dev.patchcord.tun;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the MTU of one interface out of the rtnetlink link notifications the kernel multicasts
 * ({@code RTM_NEWLINK}), without I/O. One datagram holds one or more netlink messages, each a
 * {@code struct nlmsghdr} (length, type, flags, sequence, port id), for a link message followed by
 * a {@code struct ifinfomsg} (family, type, index, flags, change) and attributes
 * ({@code struct rtattr}: length, type, value), everything aligned to 4 bytes and in the host's
 * byte order. Lengths that contradict the datagram end the reading there: what came before still
 * counts, nothing past the given bytes is read, and nothing throws.
 */
public final class LinkMessages {
    private LinkMessages() {}

    /** No notification in the datagram told this interface's MTU. */
    public static final int NONE = -1;

    static final int NLMSG_HEADER = 16;
    static final int IFINFOMSG = 16;
    static final int RTATTR_HEADER = 4;
    static final int RTM_NEWLINK = 16;
    static final int IFLA_MTU = 4;
    /** The top two bits of an attribute's type are flags (nested, network byte order), not the type. */
    private static final int NLA_TYPE_MASK = 0x3fff;
    private static final int IFI_INDEX = 4;

    /**
     * The MTU the last {@code RTM_NEWLINK} for interface {@code ifindex} in
     * {@code buf[off, off + len)} reports, or {@link #NONE}.
     *
     * @param buf in the host's byte order ({@link ByteOrder#nativeOrder()}), as netlink writes it
     */
    public static int mtu(ByteBuffer buf, int off, int len, int ifindex) {
        if (buf.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("netlink messages are in the host's byte order");
        }
        if (off < 0 || len < 0 || off > buf.limit() - len) {
            return NONE;
        }
        int end = off + len;
        int found = NONE;
        int p = off;
        while (end - p >= NLMSG_HEADER) {
            int msgLen = buf.getInt(p);
            if (msgLen < NLMSG_HEADER || msgLen > end - p) {
                break;
            }
            int type = Short.toUnsignedInt(buf.getShort(p + 4));
            if (type == RTM_NEWLINK && msgLen >= NLMSG_HEADER + IFINFOMSG
                    && buf.getInt(p + NLMSG_HEADER + IFI_INDEX) == ifindex) {
                int mtu = attributeMtu(buf, p + NLMSG_HEADER + IFINFOMSG, p + msgLen);
                if (mtu != NONE) {
                    found = mtu;
                }
            }
            int next = align(msgLen);
            if (next > end - p) {
                break;
            }
            p += next;
        }
        return found;
    }

    private static int attributeMtu(ByteBuffer buf, int p, int end) {
        while (end - p >= RTATTR_HEADER) {
            int attrLen = Short.toUnsignedInt(buf.getShort(p));
            if (attrLen < RTATTR_HEADER || attrLen > end - p) {
                return NONE;
            }
            int type = Short.toUnsignedInt(buf.getShort(p + 2)) & NLA_TYPE_MASK;
            if (type == IFLA_MTU) {
                // An unsigned 32-bit value; Linux keeps MTUs far below 2^31.
                return attrLen >= RTATTR_HEADER + 4 && buf.getInt(p + RTATTR_HEADER) >= 0
                        ? buf.getInt(p + RTATTR_HEADER) : NONE;
            }
            int next = align(attrLen);
            if (next > end - p) {
                return NONE;
            }
            p += next;
        }
        return NONE;
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }
}
