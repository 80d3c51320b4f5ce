using Pipeline.BackgroundRemoval.Imaging;

namespace Pipeline.BackgroundRemoval.Tests.Imaging;

public sealed class WriteAtomicallyTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imaging-write-");

    [Fact]
    public void Given_a_missing_folder_When_writing_Then_the_folder_is_created_and_only_the_file_is_left()
    {
        var path = Path.Combine(_root.FullName, "out", "nested", "cutout.png");

        ImageEncoder.WriteAtomically(path, [1, 2, 3]);

        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(["cutout.png"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Given_an_existing_file_When_writing_Then_it_is_replaced_and_no_temp_file_remains()
    {
        var path = Path.Combine(_root.FullName, "mask.png");
        File.WriteAllBytes(path, [9, 9, 9, 9, 9, 9, 9, 9]);

        ImageEncoder.WriteAtomically(path, [4, 5]);

        Assert.Equal(new byte[] { 4, 5 }, File.ReadAllBytes(path));
        Assert.Equal(["mask.png"], Directory.GetFiles(_root.FullName).Select(Path.GetFileName));
    }

    [Fact]
    public void Given_a_target_that_is_a_folder_When_writing_Then_it_fails_and_cleans_up_its_temp_file()
    {
        var path = Path.Combine(_root.FullName, "taken");
        Directory.CreateDirectory(path);

        Assert.ThrowsAny<IOException>(() => ImageEncoder.WriteAtomically(path, [1]));

        Assert.Empty(Directory.GetFiles(_root.FullName));
    }

    public void Dispose() => _root.Delete(recursive: true);
}
