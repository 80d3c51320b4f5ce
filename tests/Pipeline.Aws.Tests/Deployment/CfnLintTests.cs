using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Deployment;

/// <summary>cfn-lint (CloudFormation's linter, with the SAM transform) accepts template.yaml.</summary>
public sealed class CfnLintTests
{
    [CfnLintFact]
    public void Given_the_template_When_linted_Then_cfn_lint_reports_nothing()
    {
        ToolResult r = DeploymentTools.Run(DeploymentTools.CfnLint!, ["template.yaml"], RepositoryRoot.Path, TimeSpan.FromMinutes(3));

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(string.Empty, r.StdOut.Trim());
    }

    [CfnLintFact]
    public void Given_a_template_with_an_unknown_runtime_When_linted_Then_cfn_lint_fails_naming_it()
    {
        // The lint above can fail: the same template with a runtime Lambda does not have is refused.
        string dir = Directory.CreateTempSubdirectory("bgpipe-lint-").FullName;
        try
        {
            string broken = Path.Combine(dir, "template.yaml");
            File.WriteAllText(broken, File.ReadAllText(RepositoryRoot.Combine("template.yaml")).Replace("Runtime: provided.al2023", "Runtime: provided.al2099", StringComparison.Ordinal));

            ToolResult r = DeploymentTools.Run(DeploymentTools.CfnLint!, [broken], dir, TimeSpan.FromMinutes(3));

            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("provided.al2099", r.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
