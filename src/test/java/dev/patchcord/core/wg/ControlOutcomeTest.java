package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.assign.AddressMessages;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/** Address-assignment control messages come out of {@link Node#receive} as CONTROL, before the IP checks. */
class ControlOutcomeTest {

    private static byte[] encode(AddressMessage m) {
        ByteBuffer b = ByteBuffer.allocate(1024);
        int n = AddressMessage.encode(m, b, 0);
        byte[] out = new byte[n];
        b.get(0, out);
        return out;
    }

    /** Two nodes with a session, A told which plaintexts are address-assignment messages (as the tunnel does). */
    private static Pair pair() {
        Pair p = new Pair();
        p.handshake();
        p.a.setControlMessages(AddressMessages.CONTROL);
        return p;
    }

    @Test
    void withoutControlMessagesEveryPlaintextIsAPacket() {
        Pair p = new Pair();
        p.handshake();
        p.receive(p.a, p.seal(p.aAtB, encode(AddressMessage.Request.any(1, true, false))));
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.out.drop()).isNotEqualTo(Drop.BAD_CONTROL);
    }

    @Test
    void aControlMessageIsAControlOutcomeEvenWithoutAnAllowedSource() {
        Pair p = pair();
        p.a.allowedIps().removePeer(p.bAtA); // B has no address at A yet, like a client before its lease
        AddressMessage.Request request = AddressMessage.Request.any(77, true, false);
        byte[] msg = p.seal(p.aAtB, encode(request));
        assertThat(p.receive(p.a, msg)).isNull();
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.CONTROL);
        assertThat(p.out.peer()).isSameAs(p.bAtA);
        assertThat(p.out.authenticated()).isTrue();
        assertThat(AddressMessage.decode(p.buf, p.out.offset(), p.out.length())).isEqualTo(request);
        assertThat(p.out.offset()).isEqualTo(16);
        assertThat(p.out.length()).isGreaterThanOrEqualTo(dev.patchcord.core.assign.AddressMessages.REQUEST_SIZE);
        assertThat(p.a.counters().summary()).doesNotContain("not-allowed");
    }

    @Test
    void aMalformedControlMessageIsACountedDrop() {
        Pair p = pair();
        byte[] bad = encode(AddressMessage.Request.any(1, true, false));
        bad[5] = 99; // unknown type
        byte[] msg = p.seal(p.aAtB, bad);
        p.receive(p.a, msg);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.out.drop()).isEqualTo(Drop.BAD_CONTROL);
        assertThat(p.a.counters().summary()).contains("bad-control 1");
    }

    @Test
    void ipPacketsAreStillCheckedAndDelivered() {
        Pair p = pair();
        byte[] packet = Pair.ipv4(2, 1, 30);
        assertThat(p.receive(p.a, p.seal(p.aAtB, packet))).isEqualTo(packet);
        p.a.allowedIps().removePeer(p.bAtA);
        p.receive(p.a, p.seal(p.aAtB, packet));
        assertThat(p.out.drop()).isEqualTo(Drop.NOT_ALLOWED);
    }

    @Test
    void inLayer2ModeControlBytesAreNotTakenOut() {
        Pair p = pair();
        p.a.setLayer2(true);
        p.receive(p.a, p.seal(p.aAtB, encode(AddressMessage.Request.any(1, true, false))));
        assertThat(p.out.kind()).isNotEqualTo(Outcome.Kind.CONTROL);
    }

}
