package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.patchcord.testing.TestPackets.Spec;

/**
 * Well-formed IPv4/IPv6 TCP and UDP packets whose every field comes from the fuzzer, built by
 * {@link dev.patchcord.testing.TestPackets}.
 */
final class Packets {
    private Packets() {}

    /** The fields of one packet, drawn from the fuzzer (the payload is set apart). */
    static Spec shape(FuzzedDataProvider d) {
        Spec s = new Spec();
        s.version = d.consumeBoolean() ? 4 : 6;
        s.udp = !d.consumeBoolean();
        s.src = new byte[s.version == 4 ? 4 : 16];
        s.dst = new byte[s.src.length];
        s.src[s.src.length - 1] = d.consumeByte();
        s.dst[s.dst.length - 1] = d.consumeByte();
        s.src[0] = s.dst[0] = (byte) (s.version == 4 ? 10 : 0xfd);
        s.options = new byte[4 * d.consumeInt(0, 10)];
        for (int i = 0; i < s.options.length; i++) {
            s.options[i] = 1; // NOP: a valid option of any length
        }
        // ACK with sometimes PSH, FIN, SYN, RST, URG, ECE, CWR: all the flags segmentation treats apart.
        s.flags = 0x10 | (d.consumeBoolean() ? d.consumeInt(0, 0xff) : 0);
        s.sport = d.consumeInt(0, 0xffff);
        s.dport = d.consumeInt(0, 0xffff);
        s.seq = d.consumeInt();
        s.ack = d.consumeInt();
        s.window = d.consumeInt(0, 0xffff);
        s.id = d.consumeInt(0, 0xffff);
        s.ttl = d.consumeInt(1, 255);
        s.tos = d.consumeInt(0, 0xff);
        s.df = d.consumeBoolean();
        s.flowLabel = 0;
        return s;
    }
}
