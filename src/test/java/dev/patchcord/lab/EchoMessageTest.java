package dev.patchcord.lab;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EchoMessageTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void requestHasTheDocumentedLayout() {
        byte[] b = new EchoMessage(EchoMessage.Kind.REQUEST, 0x01020304, 0x0a0b0c0d).encode();
        assertThat(HEX.formatHex(b)).isEqualTo("50434543" + "01" + "01020304" + "0a0b0c0d");
        assertThat(b).hasSize(EchoMessage.LENGTH);
    }

    @Test
    void replyKeepsSessionAndSequence() {
        EchoMessage request = new EchoMessage(EchoMessage.Kind.REQUEST, -7, Integer.MAX_VALUE);
        assertThat(request.reply()).isEqualTo(new EchoMessage(EchoMessage.Kind.REPLY, -7, Integer.MAX_VALUE));
        assertThat(HEX.formatHex(request.reply().encode())).startsWith("5043454302");
    }

    @Test
    void parseReadsWhatEncodeWrote() {
        for (EchoMessage m : new EchoMessage[]{new EchoMessage(EchoMessage.Kind.REQUEST, 0, 0),
                new EchoMessage(EchoMessage.Kind.REPLY, -1, -1), new EchoMessage(EchoMessage.Kind.REQUEST, 42, 3)}) {
            byte[] b = m.encode();
            assertThat(EchoMessage.parse(b, 0, b.length)).contains(m);
        }
    }

    @Test
    void parseReadsAtAnOffset() {
        byte[] framed = new byte[3 + EchoMessage.LENGTH + 5];
        EchoMessage m = new EchoMessage(EchoMessage.Kind.REPLY, 9, 8);
        System.arraycopy(m.encode(), 0, framed, 3, EchoMessage.LENGTH);
        assertThat(EchoMessage.parse(framed, 3, EchoMessage.LENGTH)).contains(m);
    }

    @Test
    void rejectsWrongLengthMagicOrKind() {
        byte[] good = new EchoMessage(EchoMessage.Kind.REQUEST, 1, 2).encode();
        assertThat(EchoMessage.parse(good, 0, good.length - 1)).isEmpty();
        assertThat(EchoMessage.parse(java.util.Arrays.copyOf(good, good.length + 1), 0, good.length + 1)).isEmpty();
        assertThat(EchoMessage.parse(new byte[0], 0, 0)).isEmpty();
        for (int i = 0; i < 4; i++) {
            byte[] b = good.clone();
            b[i] ^= 0x20;
            assertThat(EchoMessage.parse(b, 0, b.length)).as("magic byte %d", i).isEmpty();
        }
        for (int kind : new int[]{0, 3, 0x81, 0xff}) {
            byte[] b = good.clone();
            b[4] = (byte) kind;
            assertThat(EchoMessage.parse(b, 0, b.length)).as("kind %d", kind).isEmpty();
        }
    }

    @Test
    void aLengthPastTheArrayIsRejectedNotThrown() {
        byte[] good = new EchoMessage(EchoMessage.Kind.REQUEST, 1, 2).encode();
        assertThat(EchoMessage.parse(good, 1, EchoMessage.LENGTH)).isEmpty();
        assertThat(EchoMessage.parse(good, -1, EchoMessage.LENGTH)).isEmpty();
    }

    @Test
    void randomBytesNeverThrowAndRarelyParse() {
        SplittableRandom random = new SplittableRandom(5);
        int parsed = 0;
        for (int i = 0; i < 100_000; i++) {
            byte[] b = new byte[random.nextInt(0, 20)];
            random.nextBytes(b);
            if (EchoMessage.parse(b, 0, b.length).isPresent()) {
                parsed++;
            }
        }
        assertThat(parsed).isZero();
    }

    @Test
    void aKindIsRequired() {
        assertThatThrownBy(() -> new EchoMessage(null, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
