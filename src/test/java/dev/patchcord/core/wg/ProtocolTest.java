package dev.patchcord.core.wg;

import java.util.HexFormat;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProtocolTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void initialChainingKeyIsTheHashOfTheConstruction() {
        assertThat(HEX.formatHex(Protocol.initialChainingKey()))
                .isEqualTo("60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
    }

    @Test
    void initialHashCoversChainingKeyAndIdentifier() {
        assertThat(HEX.formatHex(Protocol.initialHash()))
                .isEqualTo("2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
    }

    @Test
    void initialValuesAreCopiesTheCallerMayOverwrite() {
        byte[] c = Protocol.initialChainingKey();
        byte[] h = Protocol.initialHash();
        c[0] ^= 1;
        h[0] ^= 1;
        assertThat(Protocol.initialChainingKey()).isNotEqualTo(c);
        assertThat(Protocol.initialHash()).isNotEqualTo(h);
    }

    @Test
    void labelBytesAreTheAsciiStrings() {
        assertThat(Protocol.LABEL_MAC1_BYTES).hasSize(8).isEqualTo("mac1----".getBytes());
        assertThat(Protocol.LABEL_COOKIE_BYTES).hasSize(8).isEqualTo("cookie--".getBytes());
        assertThat(Protocol.CONSTRUCTION.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .hasSize(Protocol.CONSTRUCTION.length());
        assertThat(Protocol.IDENTIFIER.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .hasSize(Protocol.IDENTIFIER.length());
    }

    @Test
    void initiationFieldsTileTheMessage() {
        assertThat(Protocol.INIT_EPHEMERAL).isEqualTo(Protocol.INIT_SENDER + 4);
        assertThat(Protocol.INIT_STATIC).isEqualTo(Protocol.INIT_EPHEMERAL + Protocol.KEY_SIZE);
        assertThat(Protocol.INIT_TIMESTAMP).isEqualTo(Protocol.INIT_STATIC + Protocol.KEY_SIZE + Protocol.TAG_SIZE);
        assertThat(Protocol.INIT_MAC1).isEqualTo(Protocol.INIT_TIMESTAMP + Tai64n.SIZE + Protocol.TAG_SIZE);
        assertThat(Protocol.INIT_MAC2).isEqualTo(Protocol.INIT_MAC1 + Protocol.MAC_SIZE);
        assertThat(Protocol.INITIATION_SIZE).isEqualTo(Protocol.INIT_MAC2 + Protocol.MAC_SIZE);
    }

    @Test
    void responseFieldsTileTheMessage() {
        assertThat(Protocol.RESP_RECEIVER).isEqualTo(Protocol.RESP_SENDER + 4);
        assertThat(Protocol.RESP_EPHEMERAL).isEqualTo(Protocol.RESP_RECEIVER + 4);
        assertThat(Protocol.RESP_EMPTY).isEqualTo(Protocol.RESP_EPHEMERAL + Protocol.KEY_SIZE);
        assertThat(Protocol.RESP_MAC1).isEqualTo(Protocol.RESP_EMPTY + Protocol.TAG_SIZE);
        assertThat(Protocol.RESP_MAC2).isEqualTo(Protocol.RESP_MAC1 + Protocol.MAC_SIZE);
        assertThat(Protocol.RESPONSE_SIZE).isEqualTo(Protocol.RESP_MAC2 + Protocol.MAC_SIZE);
    }

    @Test
    void cookieReplyAndTransportFieldsTileTheirMessages() {
        assertThat(Protocol.COOKIE_ENCRYPTED).isEqualTo(Protocol.COOKIE_NONCE + Protocol.COOKIE_NONCE_SIZE);
        assertThat(Protocol.COOKIE_REPLY_SIZE)
                .isEqualTo(Protocol.COOKIE_ENCRYPTED + Protocol.COOKIE_SIZE + Protocol.TAG_SIZE);
        assertThat(Protocol.TRANSPORT_CONTENT).isEqualTo(Protocol.TRANSPORT_COUNTER + 8);
        assertThat(Protocol.TRANSPORT_CONTENT).as("the transport header").isEqualTo(16);
        assertThat(Protocol.MIN_TRANSPORT_SIZE).isEqualTo(32);
    }

    @Test
    void derivedLayoutsHaveTheWhitepapersSizes() {
        assertThat(Protocol.INITIATION_SIZE).isEqualTo(148);
        assertThat(Protocol.RESPONSE_SIZE).isEqualTo(92);
        assertThat(Protocol.COOKIE_REPLY_SIZE).isEqualTo(64);
        assertThat(new int[]{Protocol.INIT_SENDER, Protocol.INIT_EPHEMERAL, Protocol.INIT_STATIC,
                Protocol.INIT_TIMESTAMP, Protocol.INIT_MAC1, Protocol.INIT_MAC2}).containsExactly(4, 8, 40, 88, 116, 132);
        assertThat(new int[]{Protocol.RESP_SENDER, Protocol.RESP_RECEIVER, Protocol.RESP_EPHEMERAL,
                Protocol.RESP_EMPTY, Protocol.RESP_MAC1, Protocol.RESP_MAC2}).containsExactly(4, 8, 12, 44, 60, 76);
        assertThat(new int[]{Protocol.COOKIE_RECEIVER, Protocol.COOKIE_NONCE, Protocol.COOKIE_ENCRYPTED})
                .containsExactly(4, 8, 32);
        assertThat(new int[]{Protocol.TRANSPORT_RECEIVER, Protocol.TRANSPORT_COUNTER}).containsExactly(4, 8);
        assertThat(Protocol.MAX_TIMER_HANDSHAKES).isEqualTo(18);
    }

    @Test
    void rejectAfterMessagesIsTwoToTheSixtyFourMinusTwoToTheThirteenMinusOne() {
        assertThat(Long.toUnsignedString(Protocol.REJECT_AFTER_MESSAGES)).isEqualTo("18446744073709543423");
        assertThat(Long.compareUnsigned(Protocol.REKEY_AFTER_MESSAGES, Protocol.REJECT_AFTER_MESSAGES)).isNegative();
    }

    @Test
    void timersAreNanoseconds() {
        assertThat(Protocol.REKEY_AFTER_TIME).isEqualTo(120_000_000_000L);
        assertThat(Protocol.REJECT_AFTER_TIME).isEqualTo(180_000_000_000L);
        assertThat(Protocol.REKEY_TIMEOUT_JITTER_MAX).isEqualTo(334_000_000L);
        assertThat(Protocol.HANDSHAKE_INITIATION_RATE).isEqualTo(20_000_000L);
        assertThat(Protocol.REKEY_ATTEMPT_TIME / Protocol.REKEY_TIMEOUT).isEqualTo(Protocol.MAX_TIMER_HANDSHAKES);
    }
}
