package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.sys.Libc;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives each test its own {@link Lab}: private namespaces with unique names, processes started in
 * them, logs printed when the test fails, and everything removed after the test whatever its
 * outcome. These tests need root; elsewhere they are skipped, except under CI, where missing root
 * is a failure so that a mis-set CI cannot pass by skipping.
 *
 * <p>A {@code @BeforeAll} method that takes a {@link Lab} gets one for the whole class, for
 * scaffolding that is slow to start and that every test may share (an etcd cluster): it is
 * removed after the last test of the class, and its logs are printed with those of any test that
 * fails, since the failure may lie there.
 */
public final class LabExtension implements BeforeAllCallback, ParameterResolver, AfterEachCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(LabExtension.class);
    private static final String TEST_LAB = "lab";
    private static final String CLASS_LAB = "classLab";

    @Override
    public void beforeAll(ExtensionContext context) {
        boolean root = Libc.geteuid() == 0;
        if (!root && System.getenv("CI") != null) {
            Assertions.fail("network-namespace tests need root, and CI must run them");
        }
        Assumptions.assumeTrue(root, "network-namespace tests need root; skipped");
        Assumptions.assumeTrue(System.getProperty("patchcord.launcher") != null,
                "run through Maven (failsafe sets patchcord.launcher)");
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == Lab.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        String tag = e.getRequiredTestClass().getSimpleName().toLowerCase().replace("it", "");
        Lab lab = new Lab(tag);
        // No test method: a @BeforeAll method asks, and the lab lives as long as the class.
        e.getStore(STORE).put(e.getTestMethod().isPresent() ? TEST_LAB : CLASS_LAB, lab);
        return lab;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Lab lab = context.getStore(STORE).remove(TEST_LAB, Lab.class);
        if (lab == null) {
            return;
        }
        try {
            if (context.getExecutionException().isPresent()) {
                System.out.println("===== logs of " + context.getDisplayName() + " in " + lab.prefix());
                lab.dumpLogs(System.out);
                Lab shared = context.getStore(STORE).get(CLASS_LAB, Lab.class);
                if (shared != null) {
                    System.out.println("===== logs of the class's shared lab " + shared.prefix());
                    shared.dumpLogs(System.out);
                }
            }
        } finally {
            lab.close();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Lab lab = context.getStore(STORE).remove(CLASS_LAB, Lab.class);
        if (lab == null) {
            return;
        }
        try {
            if (context.getExecutionException().isPresent()) {
                System.out.println("===== logs of the shared lab of " + context.getDisplayName() + " in " + lab.prefix());
                lab.dumpLogs(System.out);
            }
        } finally {
            lab.close();
        }
    }
}
