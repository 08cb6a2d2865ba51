package org.streamfusion.bench;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The tools module's packages, read from its compiled classes (ArchUnit): no cycles, JMH apart from the commands,
 * JFreeChart in one class.
 */
class ToolsArchitectureTest {
    private static final JavaClasses TOOLS = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("org.streamfusion.bench");

    @Test
    void noPackageCycles() {
        slices().matching("org.streamfusion.bench.(**)").should().beFreeOfCycles().check(TOOLS);
    }

    @Test
    void theCommandsDoNotReachIntoTheBenchmarks() {
        // The benchmarks are run by JMH's own main (jmh, jmh-launch): the command line needs none of their classes.
        noClasses().that().resideInAPackage("org.streamfusion.bench").should().dependOnClassesThat()
                .resideInAPackage("org.streamfusion.bench.jmh..").check(TOOLS);
    }

    @Test
    void onlyTheChartsNameJFreeChart() {
        // A class that names JFreeChart cannot be linked without it; the command line lists every command's class.
        noClasses().that().resideInAPackage("org.streamfusion.bench..").and()
                .doNotHaveFullyQualifiedName(Charts.class.getName()).should().dependOnClassesThat()
                .resideInAPackage("org.jfree..").check(TOOLS);
    }
}
