package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.assign.AddressMessages;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The address-assignment messages that travel inside the tunnel (REQUEST, ACK, NAK, RENEW,
 * RELEASE). Contract: {@link AddressMessages#read} never throws and reads nothing outside the bytes
 * it is given; it returns a message or a problem, never both; and a message it returns, encoded
 * again, is as long as {@link AddressMessages#size} says and reads back equal.
 */
class AddressMessagesFuzzTest {

    @FuzzTest
    void read(byte[] bytes) {
        // A frame somewhere inside a larger buffer, with bytes on both sides that must not be read.
        int off = bytes.length % 5;
        ByteBuffer buf = ByteBuffer.allocate(off + bytes.length + 3);
        buf.put(off, bytes);
        for (int i = 0; i < off; i++) {
            buf.put(i, (byte) 0x80);
        }
        buf.limit(off + bytes.length);
        AddressMessages.Result r = AddressMessages.read(buf, off, bytes.length);
        assertThat(r).isNotNull();
        assertThat(r.message() == null).as("a message or a problem: %s", r).isNotEqualTo(r.problem() == null);
        if (r.message() == null) {
            Contract.assertPrintable(r.problem());
            return;
        }
        assertThat(AddressMessages.isControl(buf, off, bytes.length)).isTrue();
        AddressMessage m = r.message();
        byte[] again = AddressMessages.toBytes(m);
        assertThat(again).hasSize(AddressMessages.size(m));
        assertThat(again.length).isLessThanOrEqualTo(AddressMessages.MAX_SIZE);
        AddressMessages.Result back = AddressMessages.read(ByteBuffer.wrap(again), 0, again.length);
        assertThat(back.problem()).isNull();
        assertThat(back.message()).isEqualTo(m);
        ByteBuffer at = ByteBuffer.allocate(7 + again.length);
        assertThat(AddressMessages.write(m, at, 7)).isEqualTo(again.length);
    }
}
