import inspect

import sesn


def test_import_sesn_gives_the_building_blocks():
    for name in sesn.__all__:
        assert getattr(sesn, name) is not None, name
    assert {"ScaleConvZ2H", "ScaleConvHH", "InternalScales", "make_model", "check_equivariance"} <= set(sesn.__all__)
    assert sesn.ScaleConvZ2H.__module__ == "sesn.nn.layers"


def test_public_functions_of_sesn_are_type_hinted():
    for name in ("make_model", "check_equivariance", "smooth_noise", "scale_parameters"):
        signature = inspect.signature(getattr(sesn, name))
        assert signature.return_annotation is not inspect.Signature.empty, name
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), name
    signature = inspect.signature(sesn.InternalScales.from_suggestion)
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
