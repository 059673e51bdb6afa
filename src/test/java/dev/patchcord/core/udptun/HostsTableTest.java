package dev.patchcord.core.udptun;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostsTableTest {
    private static int ip(String dotted) throws Exception {
        return HostsTable.toInt(InetAddress.getByName(dotted).getAddress());
    }

    private static HostsTable table(String json) throws Exception {
        return HostsTable.resolve(HostsJson.parse(json), InetAddress::getByName);
    }

    @Test
    void exactMatchOnly() throws Exception {
        HostsTable t = table("{nodes:{\"10.0.0.2\":{host:\"127.0.0.2\"},\"10.0.0.3\":{host:\"::1\",port:9}}}");
        assertThat(t.lookup(ip("10.0.0.2"))).isEqualTo(new InetSocketAddress("127.0.0.2", 7777));
        assertThat(t.lookup(ip("10.0.0.3"))).isEqualTo(new InetSocketAddress("::1", 9));
        assertThat(t.lookup(ip("10.0.0.4"))).as("no prefixes, no match").isNull();
        assertThat(t.find(ip("10.0.0.4"))).isEqualTo(-1);
    }

    @Test
    void theWildcardWinsFromWhereItStands() throws Exception {
        HostsTable first = table("{nodes:{\"0.0.0.0\":{host:\"127.0.0.9\"},\"10.0.0.2\":{host:\"127.0.0.2\"}}}");
        assertThat(first.lookup(ip("10.0.0.2"))).as("hidden by the wildcard before it")
                .isEqualTo(new InetSocketAddress("127.0.0.9", 7777));
        HostsTable last = table("{nodes:{\"10.0.0.2\":{host:\"127.0.0.2\"},\"0.0.0.0\":{host:\"127.0.0.9\"}}}");
        assertThat(last.lookup(ip("10.0.0.2"))).isEqualTo(new InetSocketAddress("127.0.0.2", 7777));
        assertThat(last.lookup(ip("192.0.2.1"))).isEqualTo(new InetSocketAddress("127.0.0.9", 7777));
    }

    @Test
    void minusAIsOneWildcard() throws Exception {
        HostsTable t = HostsTable.wildcard(new InetSocketAddress("127.0.0.1", 8000));
        assertThat(t.lookup(ip("203.0.113.5"))).isEqualTo(new InetSocketAddress("127.0.0.1", 8000));
        assertThat(HostsTable.EMPTY.lookup(ip("10.0.0.1"))).isNull();
    }

    @Test
    void anUnresolvableHostFailsTheWholeLoadNamingIt() throws Exception {
        List<HostEntry> e = HostsJson.parse("{nodes:{\"10.0.0.2\":{host:\"127.0.0.2\"},\"10.0.0.3\":{host:\"nowhere.invalid\"}}}");
        assertThatThrownBy(() -> HostsTable.resolve(e, h -> {
            if (h.equals("nowhere.invalid")) {
                throw new UnknownHostException(h);
            }
            return InetAddress.getByName(h);
        })).isInstanceOf(HostsException.class).hasMessage("cannot resolve host 'nowhere.invalid' of 10.0.0.3");
    }

    @Test
    void aTableLargerThanTheLimitIsRefusedBeforeAnythingIsResolved() throws Exception {
        List<HostEntry> entries = new java.util.ArrayList<>();
        for (int i = 0; i <= HostsTable.MAX_HOSTS; i++) {
            entries.add(new HostEntry((java.net.Inet4Address) InetAddress.getByAddress(
                    new byte[] {10, 1, (byte) (i >> 8), (byte) i}), "198.51.100.1", 7777));
        }
        int[] resolved = {0};
        HostsTable.Resolver counting = host -> {
            resolved[0]++;
            return InetAddress.getByName(host);
        };
        assertThatThrownBy(() -> HostsTable.resolve(entries, counting)).isInstanceOf(HostsException.class)
                .hasMessage("the hosts table has " + (HostsTable.MAX_HOSTS + 1) + " entries; at most "
                        + HostsTable.MAX_HOSTS + " are allowed");
        assertThat(resolved[0]).isZero();
        assertThat(HostsTable.resolve(entries.subList(0, HostsTable.MAX_HOSTS), counting).size())
                .isEqualTo(HostsTable.MAX_HOSTS);
    }
}
