package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.AddressMessage.Ack;
import dev.patchcord.core.assign.AddressMessage.Nak;
import dev.patchcord.core.assign.AddressMessage.Release;
import dev.patchcord.core.assign.AddressMessage.Renew;
import dev.patchcord.core.assign.AddressMessage.Request;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

import static dev.patchcord.core.assign.AddressPoolTest.T0;
import static dev.patchcord.core.assign.AddressPoolTest.TERM;
import static dev.patchcord.core.assign.AddressPoolTest.ip;
import static dev.patchcord.core.assign.AddressPoolTest.key;
import static org.assertj.core.api.Assertions.assertThat;

class AddressServerTest {
    final AddressServer server = new AddressServer(AddressPoolTest.dualStack(), k -> k[0] != 9);

    @Test
    void aRequestIsAnsweredWithAnAckThroughTheWire() {
        byte[] request = AddressMessages.toBytes(Request.any(77, true, true));
        AddressMessage in = AddressMessage.decode(ByteBuffer.wrap(request), 0, request.length);
        AddressMessage reply = server.handle(key(1), in, T0).orElseThrow();
        byte[] out = AddressMessages.toBytes(reply);
        assertThat(AddressMessage.decode(ByteBuffer.wrap(out), 0, out.length)).isEqualTo(new Ack(77,
                Optional.of(Cidr.parse("10.9.0.2/24")), Optional.of(Cidr.parse("fd00:9::2/64")), TERM,
                List.of(Cidr.parse("192.168.50.0/24"))));
    }

    @Test
    void aConflictIsAnsweredWithANakThatSaysSo() {
        server.handle(key(1), new Request(1, true, false, ip("10.9.0.7"), Optional.empty(), false), T0);
        AddressMessage reply = server.handle(key(2), new Request(5, true, false, ip("10.9.0.7"), Optional.empty(), false), T0)
                .orElseThrow();
        assertThat(reply).isEqualTo(new Nak(5, NakReason.ADDRESS_IN_USE.code(), "10.9.0.7 is leased to another peer"));
    }

    @Test
    void aRenewalOfTheHeldLeaseExtendsIt() {
        server.handle(key(1), Request.any(1, true, false), T0);
        AddressMessage reply = server.handle(key(1), new Renew(2, ip("10.9.0.2"), Optional.empty()), T0 + 1800).orElseThrow();
        assertThat(reply).isInstanceOf(Ack.class);
        assertThat(((Ack) reply).leaseSeconds()).isEqualTo(TERM);
        assertThat(server.pool().lease(key(1)).orElseThrow().endsAt()).isEqualTo(T0 + 1800 + TERM);
    }

    @Test
    void aRenewalTheServerForgotIsGrantedAgainIfStillFreeAndRefusedIfTaken() {
        AddressMessage again = server.handle(key(1), new Renew(3, ip("10.9.0.5"), ip("fd00:9::5")), T0).orElseThrow();
        assertThat(again).isEqualTo(server.pool().ack(3, server.pool().lease(key(1)).orElseThrow(), T0));
        assertThat(((Ack) again).v4()).contains(Cidr.parse("10.9.0.5/24"));
        AddressMessage taken = server.handle(key(2), new Renew(4, ip("10.9.0.5"), Optional.empty()), T0).orElseThrow();
        assertThat(taken).isEqualTo(new Nak(4, NakReason.ADDRESS_IN_USE.code(), "10.9.0.5 is leased to another peer"));
    }

    @Test
    void aReleaseFreesTheSendersLeaseAndIsNotAnswered() {
        server.handle(key(1), Request.any(1, true, true), T0);
        server.handle(key(2), Request.any(1, true, true), T0);
        assertThat(server.handle(key(1), new Release(9), T0)).isEmpty();
        assertThat(server.pool().lease(key(1))).isEmpty();
        assertThat(server.pool().lease(key(2))).isPresent();
    }

    @Test
    void aPeerThatMayNotLeaseIsRefusedAndServerMessagesAreIgnored() {
        assertThat(server.handle(key(9), Request.any(6, true, true), T0)).contains(
                new Nak(6, NakReason.NOT_PERMITTED.code(), "this peer may not lease addresses"));
        assertThat(server.handle(key(9), new Renew(7, ip("10.9.0.2"), Optional.empty()), T0).orElseThrow())
                .isInstanceOf(Nak.class);
        assertThat(server.pool().leases()).isEmpty();
        assertThat(server.handle(key(1), new Nak(1, 1, "x"), T0)).isEmpty();
        assertThat(server.handle(key(1), server.pool().ack(1, new Lease(key(1), ip("10.9.0.2"), Optional.empty(), T0), T0), T0))
                .isEmpty();
        assertThat(server.pool().leases()).isEmpty();
    }
}
