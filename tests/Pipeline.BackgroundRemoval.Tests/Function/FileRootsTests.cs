using Pipeline.BackgroundRemoval.Function;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.BackgroundRemoval.Tests.Function;

public sealed class FileRootsTests : IDisposable
{
    private readonly Folders _folders = new();
    private readonly FileRoots _roots;

    public FileRootsTests()
    {
        _roots = new FileRoots(_folders.In, _folders.Out);
    }

    [Fact]
    public void Given_a_nested_source_When_resolved_Then_it_is_that_path_under_the_input_folder()
    {
        string resolved = _roots.ResolveSource("a/b.jpg");

        Assert.Equal(Path.Combine(_roots.InputRoot, "a", "b.jpg"), resolved);
    }

    [Fact]
    public void Given_no_destination_When_resolved_Then_it_is_the_source_path_with_a_png_extension_under_the_output_folder()
    {
        string resolved = _roots.ResolveDestination(Job("a/b.jpg"));

        Assert.Equal(Path.Combine(_roots.OutputRoot, "a", "b.png"), resolved);
    }

    [Fact]
    public void Given_an_explicit_destination_When_resolved_Then_it_is_relative_to_the_output_folder()
    {
        string resolved = _roots.ResolveDestination(Job("a/b.jpg", "c/d/e.png"));

        Assert.Equal(Path.Combine(_roots.OutputRoot, "c", "d", "e.png"), resolved);
    }

    [Fact]
    public void Given_dot_dot_that_stays_inside_When_resolved_Then_it_is_allowed()
    {
        string resolved = _roots.ResolveSource("a/../b.jpg");

        Assert.Equal(Path.Combine(_roots.InputRoot, "b.jpg"), resolved);
    }

    [Theory]
    [InlineData("../x.jpg")]
    [InlineData("a/../../etc/passwd")]
    [InlineData("./a/../../../x.jpg")]
    public void Given_a_source_that_climbs_out_with_dot_dot_When_resolved_Then_it_fails_permanently_as_an_escape(string source)
    {
        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource(source));

        Assert.Equal($"source '{source}' escapes the input folder", ex.Message);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\x")]
    [InlineData("c:x.jpg")]
    [InlineData("\\\\server\\share\\x.jpg")]
    public void Given_an_absolute_source_When_resolved_Then_it_fails_permanently_saying_paths_are_relative(string source)
    {
        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource(source));

        Assert.Equal($"source '{source}' is an absolute path; jobs name files relative to the input folder", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Given_an_empty_source_When_resolved_Then_it_fails_permanently(string source)
    {
        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource(source));

        Assert.Equal($"source '{source}' is empty; jobs name a file relative to the input folder", ex.Message);
    }

    [Fact]
    public void Given_a_source_with_a_NUL_When_resolved_Then_it_fails_permanently_showing_the_NUL_escaped()
    {
        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource("a\0.jpg"));

        Assert.Equal("source 'a\\0.jpg' contains a NUL character", ex.Message);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("a/..")]
    public void Given_a_source_naming_the_input_folder_itself_When_resolved_Then_it_fails_permanently(string source)
    {
        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource(source));

        Assert.Equal($"source '{source}' names the input folder itself, not a file", ex.Message);
    }

    [Fact]
    public void Given_a_symlink_to_a_file_outside_When_resolved_Then_it_fails_permanently_naming_the_target()
    {
        string target = Folders.Write(_folders.Outside, "x.jpg", [1]);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "link.jpg"), target);

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource("link.jpg"));

        Assert.Equal($"source 'link.jpg' is a symlink to '{target}', outside the input folder", ex.Message);
    }

    [Fact]
    public void Given_a_relative_symlink_that_climbs_out_When_resolved_Then_it_fails_permanently()
    {
        string target = Folders.Write(_folders.Outside, "x.jpg", [1]);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "link.jpg"), "../outside/x.jpg");

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource("link.jpg"));

        Assert.Equal($"source 'link.jpg' is a symlink to '{target}', outside the input folder", ex.Message);
    }

    [Fact]
    public void Given_a_symlink_inside_pointing_to_a_symlink_outside_When_resolved_Then_the_chain_is_followed_and_refused()
    {
        string target = Folders.Write(_folders.Outside, "x.jpg", [1]);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "second.jpg"), target);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "first.jpg"), "second.jpg");

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource("first.jpg"));

        Assert.Contains($"a symlink to '{target}', outside the input folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_folder_component_that_is_a_symlink_outside_When_resolved_Then_it_fails_permanently_naming_that_component()
    {
        Folders.Write(_folders.Outside, "x.jpg", [1]);
        Directory.CreateSymbolicLink(Path.Combine(_folders.In, "photos"), _folders.Outside);

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource("photos/x.jpg"));

        Assert.Equal($"source 'photos/x.jpg' goes through 'photos', a symlink to '{_folders.Outside}', outside the input folder", ex.Message);
    }

    [Fact]
    public void Given_a_symlink_inside_the_root_to_another_file_inside_When_resolved_Then_it_resolves_to_that_file()
    {
        string target = Folders.Write(_folders.In, "real/b.jpg", [1]);
        Directory.CreateSymbolicLink(Path.Combine(_folders.In, "alias"), "real");
        File.CreateSymbolicLink(Path.Combine(_folders.In, "link.jpg"), "alias/b.jpg");

        Assert.Equal(target, _roots.ResolveSource("link.jpg"));
        Assert.Equal(target, _roots.ResolveSource("alias/b.jpg"));
    }

    [Fact]
    public void Given_symlinks_that_point_at_each_other_When_resolved_Then_it_fails_permanently()
    {
        File.CreateSymbolicLink(Path.Combine(_folders.In, "a.jpg"), "b.jpg");
        File.CreateSymbolicLink(Path.Combine(_folders.In, "b.jpg"), "a.jpg");

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveSource("a.jpg"));

        Assert.StartsWith("source 'a.jpg' cannot be resolved: more than 40 levels of symlinks", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_roots_named_through_a_symlink_When_a_symlink_inside_is_resolved_Then_it_counts_as_inside()
    {
        string alias = Path.Combine(_folders.Base, "alias");
        Directory.CreateSymbolicLink(alias, _folders.Base);
        var roots = new FileRoots(Path.Combine(alias, "in"), Path.Combine(alias, "out"));
        string target = Folders.Write(_folders.In, "b.jpg", [1]);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "link.jpg"), target);

        Assert.Equal(_folders.In, roots.InputRoot);
        Assert.Equal(target, roots.ResolveSource("link.jpg"));
    }

    [Theory]
    [InlineData("../x.png", "destination '../x.png' escapes the output folder")]
    [InlineData("a/../../x.png", "destination 'a/../../x.png' escapes the output folder")]
    [InlineData("/tmp/x.png", "destination '/tmp/x.png' is an absolute path; jobs name files relative to the output folder")]
    [InlineData("sub/", "destination 'sub/' names a folder, not a file")]
    public void Given_a_destination_outside_the_output_folder_When_resolved_Then_it_fails_permanently(string destination, string reason)
    {
        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveDestination(Job("a.jpg", destination)));

        Assert.Equal(reason, ex.Message);
    }

    [Fact]
    public void Given_a_destination_through_a_symlinked_folder_outside_When_resolved_Then_it_fails_permanently()
    {
        Directory.CreateSymbolicLink(Path.Combine(_folders.Out, "results"), _folders.Outside);

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveDestination(Job("a.jpg", "results/a.png")));

        Assert.Equal($"destination 'results/a.png' goes through 'results', a symlink to '{_folders.Outside}', outside the output folder", ex.Message);
    }

    [Fact]
    public void Given_a_default_destination_through_a_symlinked_folder_outside_When_resolved_Then_it_fails_permanently()
    {
        Directory.CreateSymbolicLink(Path.Combine(_folders.Out, "sub"), _folders.Outside);

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveDestination(Job("sub/a.jpg")));

        Assert.Contains("destination 'sub/a.png' goes through 'sub'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_the_same_folder_for_input_and_output_When_the_destination_is_the_source_Then_it_fails_permanently()
    {
        var roots = new FileRoots(_folders.In, _folders.In);
        Folders.Write(_folders.In, "a.png", [1]);

        var ex = Assert.Throws<PermanentJobException>(() => roots.ResolveDestination(Job("a.png")));

        Assert.Equal("destination 'a.png' is the source 'a.png' itself; it would be overwritten", ex.Message);
    }

    [Fact]
    public void Given_a_destination_alone_When_resolved_for_a_source_elsewhere_Then_it_is_relative_to_the_output_folder()
    {
        string resolved = _roots.ResolveDestination("c/d.png");

        Assert.Equal(Path.Combine(_roots.OutputRoot, "c", "d.png"), resolved);
    }

    [Theory]
    [InlineData("../x.png", "destination '../x.png' escapes the output folder")]
    [InlineData("/tmp/x.png", "destination '/tmp/x.png' is an absolute path; jobs name files relative to the output folder")]
    [InlineData("c/", "destination 'c/' names a folder, not a file")]
    [InlineData("linked/x.png", "destination 'linked/x.png' goes through 'linked', a symlink to '{outside}', outside the output folder")]
    public void Given_a_destination_alone_that_leaves_the_output_folder_or_names_a_folder_When_resolved_Then_it_fails_permanently(string destination, string reason)
    {
        Directory.CreateSymbolicLink(Path.Combine(_folders.Out, "linked"), _folders.Outside);

        var ex = Assert.Throws<PermanentJobException>(() => _roots.ResolveDestination(destination));

        Assert.Equal(reason.Replace("{outside}", _folders.Outside, StringComparison.Ordinal), ex.Message);
    }

    [Fact]
    public void Given_a_missing_input_folder_When_roots_are_made_Then_they_refuse()
    {
        string missing = Path.Combine(_folders.Base, "nope");

        var ex = Assert.Throws<DirectoryNotFoundException>(() => new FileRoots(missing, _folders.Out));

        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_missing_output_folder_When_roots_are_made_Then_it_is_created()
    {
        string output = Path.Combine(_folders.Base, "new", "out");

        var roots = new FileRoots(_folders.In, output);

        Assert.True(Directory.Exists(output));
        Assert.Equal(output, roots.OutputRoot);
    }

    private static Job Job(string source, string? destination = null) =>
        new() { Source = source, Destination = destination, Key = "k" };

    public void Dispose() => _folders.Dispose();
}
