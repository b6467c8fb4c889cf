# Reference values from R's robustbase for lsis_robust tests.
# GENERATED FILE -- do not edit by hand.
# Regenerate (from the repository root):  Rscript tests/results/make_robustbase_refs.R datasets
#   (needs: apt-get install r-cran-robustbase r-cran-robust)
# R version 4.2.2 Patched (2022-11-10 r83330)
# robustbase 0.95.0, robust 0.7.1
# Generated: 2026-11-28 05:15:36 UTC
# Data directory argument: datasets
#
# Per data set: glm (binomial ML), BY and WBY (glmrob, const = 0.5, maxit = 1000, maxhalf = 10).
# 'objective' = mean_i phi_CH(y_i x_i'beta), y in {-1,+1}, c = 0.5, computed by an
# independent R implementation of the closed form in NOTES.md; 'objective_phiBY3' uses
# robustbase:::phiBY3; 'objective_reported' is glmrob's own fit$objective.
# 'converged' is glmrob's fit$convergence (fit$converged is NULL for BY/WBY);
# 'stopped_by_halving' = BYlogreg printed 'Convergence Achieved' (maxhalf halvings failed).
# 'cov'/'se' are vcov(fit) / sqrt(diag(vcov(fit))) (robustbase's sandwich for BY/WBY).
# 'CH_min_refined' is a tight minimisation of the same objective (own code, not robustbase).
# A fit entry with an 'error' key means glmrob raised that error.
# No imports: plain literals only.

META = {
    "R_version": "R version 4.2.2 Patched (2022-11-10 r83330)",
    "robustbase_version": "0.95.0",
    "generated": "2026-11-28 05:15:36 UTC",
    "command": "Rscript tests/results/make_robustbase_refs.R datasets",
    "const": 0.5,
}

REFS = {
    "vaso": {
        "formula": "Y ~ log(Volume) + log(Rate)",
        "n": 39,
        "columns": ["(Intercept)", "log(Volume)", "log(Rate)"],
        "glm": {
            "coef": [-2.8754216385682407, 5.1793239122473507, 4.561675179138601],
            "se": [1.3206194222816152, 1.8645789823079, 1.8377478145783313],
            "cov": [
                [1.744035658507427, -1.9905656096044395, -2.2634746531159844],
                [-1.9905656096044395, 3.4766547812643642, 2.7562860348282672],
                [-2.2634746531159844, 2.7562860348282672, 3.3773170299874327],
            ],
            "converged": True,
            "iter": 6,
            "loglik_per_obs": -0.37470993949622983,
            "deviance": 29.227375280705932,
        },
        "BY": {
            "coef": [-6.8515094068344711, 10.734324513654988, 9.3643163575575006],
            "se": [10.040299739415737, 15.294775370609782, 12.77006762575871],
            "cov": [
                [100.80761885731171, -153.12899617384514, -128.15041248998133],
                [-153.12899617384491, 233.93015363741162, 194.85948597230174],
                [-128.15041248998116, 194.85948597230174, 163.07462716645068],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 8,
            "stopped_by_halving": True,
            "objective": 0.50730753646797433,
            "objective_phiBY3": 0.50730753646797433,
            "objective_reported": 0.50730753646797433,
            "grad_at_estimate": [-0.00011056545307810818, 1.8435032070416539e-05, -0.00010202823570775614],
            "grad_norm": 0.00015157285609053512,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "WBY": {
            "coef": [-6.8503348254217986, 10.733443086903666, 9.3630309224151187],
            "se": [10.04077778992324, 15.296423188819324, 12.770892398383202],
            "cov": [
                [100.81721862661584, -153.15285074700998, -128.16479385121792],
                [-153.1528507470095, 233.98056237144951, 194.89318712854958],
                [-128.16479385121778, 194.89318712855004, 163.09569265108186],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 8,
            "stopped_by_halving": True,
            "objective": 0.50730752410908309,
            "objective_phiBY3": 0.50730752410908309,
            "objective_reported": 0.50730752410908309,
            "grad_at_estimate": [-0.00010017943425112023, 2.3140067247500126e-05, -9.9821529835354266e-05],
            "grad_norm": 0.00014330289451983818,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "CH_min_refined": {
            "coef": [-6.8271238844600273, 10.695459281526913, 9.3391659484517895],
            "objective": 0.50730711243162041,
            "grad_norm": 7.2141193478652159e-18,
            "method": "own closed-form CH objective: nlminb + optim(BFGS) with analytic gradient from the BY estimate (+-10%), then Newton polish",
        },
    },
    "foodstamp": {
        "formula": "participation ~ tenancy + suppl.income + log(income + 1)",
        "n": 150,
        "columns": ["(Intercept)", "tenancy", "suppl.income", "log(income + 1)"],
        "glm": {
            "coef": [0.92638014706239669, -1.850212676405105, 0.89606312231041929, -0.33275196640761734],
            "se": [1.6229435864340991, 0.53469351090646389, 0.5009394439348418, 0.27294273267866648],
            "cov": [
                [2.6339458847475758, 0.06870298693250175, -0.15586332898958008, -0.43063175372744783],
                [0.06870298693250175, 0.28589715060548082, 0.016216931062973693, -0.029358508409709345],
                [-0.15586332898958008, 0.016216931062973693, 0.25094032648974851, 0.0071532821960639962],
                [-0.43063175372744783, -0.029358508409709345, 0.0071532821960639962, 0.074497735322097983],
            ],
            "converged": True,
            "iter": 5,
            "loglik_per_obs": -0.35465698368617821,
            "deviance": 106.39709510585345,
        },
        "BY": {
            "coef": [0.88112658694605794, -1.767685065586905, 0.84535253885100248, -0.32189619047269125],
            "se": [5.70771920324768, 0.57843507351424917, 0.62788925237347826, 0.92906764071873971],
            "cov": [
                [32.578058503122335, 1.0324524537851603, -2.0309436252274269, -5.2884661119315917],
                [1.0324524537851654, 0.33458713427143488, 0.013640437384878416, -0.19219118771068988],
                [-2.0309436252274202, 0.013640437384878806, 0.39424491324612548, 0.30713416378122416],
                [-5.288466111931581, -0.19219118771068863, 0.30713416378122455, 0.86316668103068517],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 4,
            "stopped_by_halving": True,
            "objective": 0.50673212044490878,
            "objective_phiBY3": 0.50673212044490878,
            "objective_reported": 0.50673212044490878,
            "grad_at_estimate": [-0.00014402213501377774, 0.00016551729211943631, 0.00010565696582083552, -0.001025430282091417],
            "grad_norm": 0.0010539492431901197,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "WBY": {
            "error": "illegal 'singularity$kind'",
            "converged": False,
        },
        "CH_min_refined": {
            "coef": [0.82103913195388956, -1.8048810496828773, 0.82601638341632699, -0.30797042384770001],
            "objective": 0.50672519856958353,
            "grad_norm": 5.5076794984591008e-18,
            "method": "own closed-form CH objective: nlminb + optim(BFGS) with analytic gradient from the BY estimate (+-10%), then Newton polish",
        },
    },
    "leukemia": {
        "formula": "y ~ ag + log(wbc)",
        "n": 33,
        "columns": ["(Intercept)", "ag", "log(wbc)"],
        "glm": {
            "coef": [8.0963609253155671, 2.5195623241718721, -1.1087589552109798],
            "se": [4.0536541446684193, 1.0906652806053772, 0.46093917046256772],
            "cov": [
                [16.432111924587456, 0.86469716835709576, -1.8292164422941806],
                [0.86469716835709576, 1.1895507543180059, -0.17982144716220014],
                [-1.8292164422941806, -0.17982144716220014, 0.21246491886672006],
            ],
            "converged": True,
            "iter": 5,
            "loglik_per_obs": -0.40655617026186969,
            "deviance": 26.832707237283397,
        },
        "BY": {
            "coef": [7.7290202919891566, 2.4052470622407123, -1.0584533647647814],
            "se": [4.9238967610032383, 1.1210019070129624, 0.51906353742110778],
            "cov": [
                [24.244759313018179, -0.64201184719659965, -2.5056844397700857],
                [-0.64201184719663951, 1.2566452755266984, -0.031973224318395749],
                [-2.5056844397700919, -0.031973224318401966, 0.26942695588011373],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 1,
            "stopped_by_halving": True,
            "objective": 0.52705899333856499,
            "objective_phiBY3": 0.52705899333856499,
            "objective_reported": 0.52705899333856499,
            "grad_at_estimate": [0.00074870970938696059, 0.0015745795036642472, 0.0090453153564375322],
            "grad_norm": 0.0092118183188605318,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "WBY": {
            "coef": [7.7290202919891566, 2.4052470622407123, -1.0584533647647814],
            "se": [4.9238967610032383, 1.1210019070129624, 0.51906353742110778],
            "cov": [
                [24.244759313018179, -0.64201184719659965, -2.5056844397700857],
                [-0.64201184719663951, 1.2566452755266984, -0.031973224318395749],
                [-2.5056844397700919, -0.031973224318401966, 0.26942695588011373],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 1,
            "stopped_by_halving": True,
            "objective": 0.52705899333856499,
            "objective_phiBY3": 0.52705899333856499,
            "objective_reported": 0.52705899333856499,
            "grad_at_estimate": [0.00074870970938696059, 0.0015745795036642472, 0.0090453153564375322],
            "grad_norm": 0.0092118183188605318,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "CH_min_refined": {
            "coef": [8.0756859765663584, 2.3228748202928196, -1.0916902288474442],
            "objective": 0.52697430044758653,
            "grad_norm": 4.5221631150530226e-16,
            "method": "own closed-form CH objective: nlminb + optim(BFGS) with analytic gradient from the BY estimate (+-10%), then Newton polish",
        },
    },
    "synthetic": {
        "formula": "y ~ x1",
        "n": 200,
        "columns": ["(Intercept)", "x1"],
        "glm": {
            "coef": [-0.099289262255921842, 1.1641707366387009],
            "se": [0.16089604485078982, 0.19922794557572907],
            "cov": [
                [0.025887537248627367, -0.0013476732767804297],
                [-0.0013476732767804297, 0.039691774298325662],
            ],
            "converged": True,
            "iter": 4,
            "loglik_per_obs": -0.56770379020071216,
            "deviance": 227.08151608028487,
        },
        "BY": {
            "coef": [-0.26657319262052082, 2.0876764771988352],
            "se": [0.18605601961231608, 0.35932628146458673],
            "cov": [
                [0.034616842433978549, -0.017626019071899656],
                [-0.017626019071899656, 0.12911537655116739],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 8,
            "stopped_by_halving": True,
            "objective": 0.55743698577658862,
            "objective_phiBY3": 0.55743698577658862,
            "objective_reported": 0.55743698577658862,
            "grad_at_estimate": [-3.9474404809405345e-05, -6.1955181315707639e-06],
            "grad_norm": 3.9957641071207218e-05,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "WBY": {
            "coef": [-0.26623507922323791, 2.0876994910764259],
            "se": [0.1860346314943282, 0.3593338910376786],
            "cov": [
                [0.034608884115230484, -0.01759502953271691],
                [-0.017595029532716914, 0.12912084524827827],
            ],
            "converged": True,
            "converged_field": "convergence (fit$converged is NULL for BY/WBY)",
            "iter": 3,
            "stopped_by_halving": True,
            "objective": 0.55743697537407533,
            "objective_phiBY3": 0.55743697537407533,
            "objective_reported": 0.55743697537407533,
            "grad_at_estimate": [-2.1371744067846419e-05, -3.8915377919687231e-06],
            "grad_norm": 2.1723156098685324e-05,
            "warnings": [],
            "messages": ["Convergence Achieved"],
        },
        "CH_min_refined": {
            "coef": [-0.2658458189188353, 2.0878164736555034],
            "objective": 0.55743697098697154,
            "grad_norm": 2.0879676233458232e-18,
            "method": "own closed-form CH objective: nlminb + optim(BFGS) with analytic gradient from the BY estimate (+-10%), then Newton polish",
        },
        "csv": "tests/results/synthetic_by.csv",
        "description": "n=200, x1 ~ N(0,1) (set.seed(20240611), rnorm), y ~ Bernoulli(plogis(2*x1)); rows 3, 50, 111, 170 (1-based) replaced by outliers x1 = -4, -4.5, -5, -5.5 with y = 1",
        "outlier_rows_1based": [3, 50, 111, 170],
    },
}

